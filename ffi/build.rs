//! Finds the system DPDK with pkg-config, compiles the shim and generates bindings.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=shim.h");
    println!("cargo:rerun-if-changed=shim.c");

    let dpdk = match pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(_) => {
            eprintln!("error: libdpdk (DPDK 22.11) not found by pkg-config: run `make deps`");
            std::process::exit(1);
        }
    };

    // bindgen and cc need the full cflags, including `-include rte_config.h`.
    let raw = std::process::Command::new("pkg-config")
        .args(["--cflags", "libdpdk"])
        .output()
        .expect("pkg-config runs");
    let flags: Vec<String> = String::from_utf8_lossy(&raw.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();

    let mut build = cc::Build::new();
    build.file("shim.c").opt_level(3).warnings(false);
    for f in &flags {
        build.flag(f);
    }
    build.compile("vsshim");

    for lib in &dpdk.libs {
        println!("cargo:rustc-link-lib={lib}");
    }
    // The vhost PMD is a plugin, not in libdpdk's link line; its vid and queue-event getters
    // let the workers call the vhost library directly.
    println!("cargo:rustc-link-lib=rte_net_vhost");

    let bindings = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_args(&flags)
        .clang_arg("-I.")
        .allowlist_function("rte_eal_.*|rte_eth_.*|rte_pktmbuf_.*|rte_mempool_.*|rte_dev_.*|rte_strerror|rte_socket_id|rte_thread_.*|rte_lcore_.*|rte_devargs_.*|rte_vhost_enqueue_burst|rte_vhost_dequeue_burst|rte_vhost_driver_disable_features|rte_vhost_get_mtu|vs_.*")
        .allowlist_type("rte_mbuf|rte_eth_.*|rte_mempool")
        .allowlist_var("RTE_MBUF_F_RX_L4_CKSUM_.*|RTE_MAX_ETHPORTS|RTE_ETH_.*|RTE_MBUF_DEFAULT_BUF_SIZE|RTE_PKTMBUF_HEADROOM|RTE_MAX_LCORE|RTE_ETHER_.*")
        .opaque_type("rte_arp_ipv4|rte_arp_hdr")
        .blocklist_type("__tile1024i.*")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .generate()
        .expect("bindgen over wrapper.h");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR set by cargo"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("write bindings.rs");
}
