//! vswitchd: the switch daemon. Without `--foreground` it detaches once its control socket
//! serves, so `vswitchd && vsctl ...` works; a failure to start is one line and a non-zero exit.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use vswitch::daemon::{self, Options};

#[derive(Parser, Debug)]
#[command(name = "vswitchd", version, about = "DPDK poll-mode virtual switch")]
struct Args {
    /// Control socket (gRPC, mode 0600).
    #[arg(long, default_value = "/run/vswitch/vswitchd.sock")]
    socket: PathBuf,
    /// Where the model is persisted and restored from.
    #[arg(long, default_value = "/var/lib/vswitch")]
    state_dir: PathBuf,
    /// Forwarding CPUs, one pinned worker each (e.g. 1 or 1-3). Default: the last CPU.
    #[arg(long)]
    lcores: Option<String>,
    /// Run without hugepages (slower; default: use them when there are enough).
    #[arg(long)]
    no_huge: bool,
    /// Packet buffers (mbufs) in the pool all ports share; each RX descriptor and each packet in
    /// flight holds one.
    #[arg(long, default_value_t = daemon::DEFAULT_MBUFS)]
    mbufs: u32,
    /// Stay in the foreground and log to stderr.
    #[arg(long)]
    foreground: bool,
    /// Serve the counters for Prometheus at http://IP:PORT/metrics (a loopback address).
    #[arg(long, value_name = "IP:PORT")]
    metrics: Option<String>,
    /// Log file when detached (default: STATE_DIR/vswitchd.log).
    #[arg(long)]
    log_file: Option<PathBuf>,
    /// Extra DPDK EAL arguments.
    #[arg(last = true)]
    eal_args: Vec<String>,
}

fn fail(msg: &str) -> ! {
    eprintln!("vswitchd: {msg}");
    std::process::exit(1);
}

fn init_logging(writer: Option<std::fs::File>) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VSWITCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match writer {
        Some(f) => builder
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(f))
            .init(),
        None => builder.with_writer(std::io::stderr).init(),
    }
}

fn main() {
    let args = Args::parse();
    let worker_cpus = match &args.lcores {
        Some(l) => daemon::parse_cpu_list(l).unwrap_or_else(|e| fail(&e)),
        None => daemon::default_worker_cpus(),
    };
    let metrics = args
        .metrics
        .as_deref()
        .map(|m| vswitch::control::http::listen_addr(m).unwrap_or_else(|e| fail(&e)));
    let opts = Options {
        socket: args.socket.clone(),
        state_dir: Some(args.state_dir.clone()),
        worker_cpus,
        no_huge: args.no_huge,
        mbufs: args.mbufs,
        eal_args: args.eal_args.clone(),
        metrics,
    };

    let mut report = if args.foreground {
        init_logging(None);
        None
    } else {
        let log = args
            .log_file
            .clone()
            .unwrap_or_else(|| args.state_dir.join("vswitchd.log"));
        if let Some(dir) = log.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| fail(&format!("log file {}: {e}", log.display())));
        let pipe = vswitch::sys::process::detach().unwrap_or_else(|e| fail(&e));
        vswitch::sys::process::redirect_stdio(&file);
        init_logging(Some(file));
        Some(pipe)
    };

    let pid_file = args.state_dir.join("vswitchd.pid");
    let result = daemon::run(opts, || {
        let _ = std::fs::write(&pid_file, format!("{}\n", std::process::id()));
        if let Some(mut pipe) = report.take() {
            let _ = pipe.write_all(b"ok");
        }
    });
    let _ = std::fs::remove_file(&pid_file);
    if let Err(e) = result {
        tracing::error!("{e}");
        if let Some(mut pipe) = report.take() {
            let _ = pipe.write_all(e.as_bytes());
        }
        fail(&e);
    }
}
