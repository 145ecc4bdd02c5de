//! Generates the `vswitch.v1` gRPC client from the daemon's protos; messages derive Serialize for
//! `--json` output, with maps as BTreeMap so that output is stable.

const PROTOS: &[&str] = &[
    "../vswitch/proto/vswitch/v1/status.proto",
    "../vswitch/proto/vswitch/v1/network.proto",
    "../vswitch/proto/vswitch/v1/port.proto",
    "../vswitch/proto/vswitch/v1/fdb.proto",
    "../vswitch/proto/vswitch/v1/stats.proto",
    "../vswitch/proto/vswitch/v1/config.proto",
    "../vswitch/proto/vswitch/v1/router.proto",
    "../vswitch/proto/vswitch/v1/firewall.proto",
    "../vswitch/proto/vswitch/v1/dhcp.proto",
    "../vswitch/proto/vswitch/v1/vtep.proto",
    "../vswitch/proto/vswitch/v1/nat.proto",
    "../vswitch/proto/vswitch/v1/ipfix.proto",
    "../vswitch/proto/vswitch/v1/trace.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../vswitch/proto");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .type_attribute(".", "#[derive(serde::Serialize)]")
        // Sorted maps: `--json` output and drop-reason tables come out in a stable order.
        .btree_map(".")
        // A capture's pcapng reaches the output without a copy.
        .bytes(".vswitch.v1.CaptureBatch.pcapng")
        .compile_protos(PROTOS, &["../vswitch/proto"])?;
    Ok(())
}
