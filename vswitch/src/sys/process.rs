//! Detaching the daemon from its terminal.

use std::io::Read;

/// Forks; the parent waits for the child's "ready" byte (or its error line) and exits with it.
/// Returns, in the child, the pipe it reports on; the parent never returns.
pub fn detach() -> Result<std::fs::File, String> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe writes two fds into the array.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err("cannot create a pipe to detach; use --foreground".into());
    }
    // SAFETY: single-threaded at this point (nothing started yet), so fork is safe.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err("cannot fork to detach; use --foreground".into());
    }
    // SAFETY: the fds come from pipe() above and are owned by exactly one File each.
    let (mut read, write) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    if pid > 0 {
        drop(write);
        let mut report = String::new();
        let _ = read.read_to_string(&mut report);
        if report == "ok" {
            std::process::exit(0);
        }
        let msg = if report.is_empty() {
            "exited while starting (see its log)".to_string()
        } else {
            report
        };
        eprintln!("vswitchd: {msg}");
        std::process::exit(1);
    }
    drop(read);
    // SAFETY: the child leaves the parent's session; no other threads exist.
    unsafe { libc::setsid() };
    Ok(write)
}

/// Sends the detached daemon's stdout/stderr (DPDK prints there) to its log file.
pub fn redirect_stdio(file: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: dup2 onto the standard fds with a valid open file.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::close(null);
        }
        libc::dup2(file.as_raw_fd(), 1);
        libc::dup2(file.as_raw_fd(), 2);
    }
}
