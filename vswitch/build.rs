//! Generates the `vswitch.v1` gRPC server and messages from `proto/`.

const PROTOS: &[&str] = &[
    "proto/vswitch/v1/status.proto",
    "proto/vswitch/v1/network.proto",
    "proto/vswitch/v1/port.proto",
    "proto/vswitch/v1/fdb.proto",
    "proto/vswitch/v1/stats.proto",
    "proto/vswitch/v1/config.proto",
    "proto/vswitch/v1/router.proto",
    "proto/vswitch/v1/firewall.proto",
    "proto/vswitch/v1/dhcp.proto",
    "proto/vswitch/v1/vtep.proto",
    "proto/vswitch/v1/nat.proto",
    "proto/vswitch/v1/ipfix.proto",
    "proto/vswitch/v1/trace.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_protos(PROTOS, &["proto"])?;
    Ok(())
}
