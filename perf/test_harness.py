"""Tests of the harness logic (run by `make test`)."""
import unittest

import harness
import cycle_split

TESTPMD = """
  ######################## NIC statistics for port 0  ########################
  RX-packets: 100        RX-missed: 0          RX-bytes:  6400
  Throughput (since last show)
  Rx-pps:      3000000          Rx-bps:   1500000000
  Tx-pps:      3000000          Tx-bps:   1500000000
  ######################## NIC statistics for port 1  ########################
  Rx-pps:      2000000          Rx-bps:   1000000000
  Tx-pps:      2000000          Tx-bps:   1000000000
  ############################################################################
  ######################## NIC statistics for port 0  ########################
  Rx-pps:      1          Rx-bps:   1
  ######################## NIC statistics for port 1  ########################
  Rx-pps:      2          Rx-bps:   1
"""

# The shape of `iperf3 -c ... -J` output (iperf 3.12), cut down to the keys that matter.
IPERF3_JSON = """{
	"start":	{"test_start": {"protocol": "TCP", "num_streams": 1, "duration": 10}},
	"intervals":	[],
	"end":	{
		"sum_sent":	{"start": 0, "end": 10.000311, "seconds": 10.000311,
			"bytes": 47448064, "bits_per_second": 37957270.0, "retransmits": 3, "sender": true},
		"sum_received":	{"start": 0, "end": 10.061729, "seconds": 10.061729,
			"bytes": 47185920, "bits_per_second": 37516920.5, "sender": true}
	}
}"""

IPERF3_TEXT = """\
[ ID] Interval           Transfer     Bitrate         Retr
[  5]   0.00-10.00  sec  45.2 MBytes  37.9 Mbits/sec    3             sender
[  5]   0.00-10.06  sec  45.0 MBytes  37.5 Mbits/sec                  receiver

iperf Done.
"""


class HarnessTest(unittest.TestCase):
    def test_iperf3_gbps(self):
        self.assertAlmostEqual(harness.iperf3_gbps(IPERF3_JSON), 0.0375169205)
        self.assertAlmostEqual(harness.iperf3_gbps(IPERF3_JSON, "sender"), 0.037957270)
        self.assertAlmostEqual(harness.iperf3_gbps(IPERF3_TEXT), 0.0375)
        self.assertAlmostEqual(harness.iperf3_gbps(IPERF3_TEXT, "sender"), 0.0379)
        line = "[  5]   0.00-1.00   sec  1.10 GBytes  9.41 Gbits/sec                  receiver"
        self.assertAlmostEqual(harness.iperf3_gbps(line), 9.41)
        for bad in ('{"start": {}, "error": "unable to connect to server: Connection refused"}',
                    '{"end": {}}', "{ truncated", "iperf3: error - unable to connect", ""):
            with self.assertRaises(ValueError):
                harness.iperf3_gbps(bad)
        with self.assertRaises(ValueError):
            harness.iperf3_gbps(IPERF3_JSON, "both")

    def test_testpmd_samples_sum_ports(self):
        self.assertEqual(harness.parse_testpmd_rates(TESTPMD), [5000000, 3])
        self.assertEqual(harness.parse_testpmd_rates("garbage"), [])

    def test_loopgen_samples(self):
        text = ("EAL: noise\nsample rx_pps=7000000 tx_pps=7001000 full=0.950\n"
                "sample rx_pps=6000000 tx_pps=6000100 full=0.900\nsample bogus\n")
        self.assertEqual(harness.parse_loopgen_samples(text),
                         [(7000000, 0.95), (6000000, 0.9)])
        self.assertEqual(harness.parse_loopgen_samples("no samples"), [])

    def test_result_line(self):
        r = harness.parse_result_line("pipeline workers=2 pairs=1000 size=64 mpps=12.50 gbps=6.40")
        self.assertEqual(r["case"], "pipeline")
        self.assertEqual(r["workers"], 2)
        self.assertAlmostEqual(r["mpps"], 12.5)
        self.assertEqual(harness.parse_result_line("ovs mpps=0 error=no-samples")["error"],
                         "no-samples")
        with self.assertRaises(ValueError):
            harness.parse_result_line("  ")

    def test_median_and_ratio(self):
        self.assertEqual(harness.median([3, 1, 2]), 2)
        self.assertEqual(harness.median([None, 4]), 4)
        self.assertIsNone(harness.median([]))
        self.assertEqual(harness.ratio(9, 10), 0.9)
        self.assertIsNone(harness.ratio(1, 0))
        self.assertIsNone(harness.ratio(None, 1))
        self.assertEqual(harness.cycles_per_packet(10.0, 2.8e9), 280.0)

    def test_switch_cycles_per_packet(self):
        begin = '{"workers":[{"busy_cycles":"1000","rx_packets":"10"}]}'
        end = '{"workers":[{"busy_cycles":"5000","rx_packets":"20"}]}'
        self.assertEqual(harness.vswitchd_switch_cpp(begin, end), 400.0)
        self.assertIsNone(harness.vswitchd_switch_cpp(begin, begin))
        ovs = "  avg cycles per packet: 888.65 (1/2)\n  avg processing cycles per packet: 874.98 (1/2)"
        self.assertEqual(harness.ovs_switch_cpp(ovs), 874.98)
        self.assertIsNone(harness.ovs_switch_cpp("no pmd"))
        pmd = "CPU cycles/packet=89.62 (x)\n  CPU cycles/packet=91.00 (y)"
        self.assertEqual(harness.testpmd_switch_cpp(pmd), 91.0)
        self.assertIsNone(harness.testpmd_switch_cpp(""))

    def test_table_and_targets(self):
        rows = harness.loop_table({"testpmd": {"mpps": 10.0, "switch_cpp": 300.0},
                                   "ovs": {"mpps": 6.0, "switch_cpp": 600.0},
                                   "vswitchd": {"mpps": 9.5, "switch_cpp": 400.0}}, 3e9)
        vs = rows[2]
        self.assertEqual((vs["ratio_testpmd"], vs["ratio_ovs"]), (0.95, 1.58))
        self.assertEqual((vs["efficiency_testpmd"], vs["efficiency_ovs"]), (0.75, 1.5))
        text = harness.render(rows, [("case", "CASE", 10), ("mpps", "MPPS", 6)])
        self.assertIn("vswitchd", text.splitlines()[3])
        routed = harness.loop_table({"testpmd": {"mpps": 8.0}, "ovs": {"mpps": 4.0},
                                     "vswitchd": {"mpps": 7.0}}, 3e9)
        fw = harness.loop_table({"testpmd": {"mpps": 8.0}, "ovs": {"mpps": 2.0},
                                 "vswitchd": {"mpps": 6.4}}, 3e9)
        vx = harness.loop_table({"testpmd": {"mpps": 8.0}, "ovs": {"mpps": 3.0},
                                 "vswitchd": {"mpps": 7.5}}, 3e9)
        report = {"loop": rows, "loop_server": rows, "loop_routed": routed,
                  "loop_routed_server": routed, "loop_firewall": fw, "loop_firewall_server": fw,
                  "loop_vxlan": vx, "loop_vxlan_server": vx,
                  "loop_snat": fw, "loop_snat_server": fw,
                  "loop_vip": fw, "loop_vip_server": fw,
                  "scaling": {"1": 10.0, "2": 19.0},
                  "pairs_sweep": [{"pairs": 1, "mpps": 10.0}, {"pairs": 100000, "mpps": 9.5}],
                  "routed_stages": {"routes_10": 180.0, "routes_1m": 190.0,
                                    "fw_publish_100k_s": 0.3, "fw_classify_100": 200.0,
                                    "fw_classify_100k": 350.0, "fw_flows_1k": 600.0,
                                    "fw_flows_1m": 700.0, "fw_new_conn_mps": 1.2,
                                    "vxlan_ratio": 1.8, "nat_new_conn_mps": 1.5,
                                    "vip_new_conn_mps": 1.2, "maglev_1000_ms": 2.0},
                  "vtep_scale": {"full_sync_s": 3.4, "new_mac_median_ms": 20.0,
                                 "new_mac_p99_ms": 45.0},
                  "observed": {"l2_metrics": {"ratio": 0.99},
                               "firewall_metrics": {"ratio": 1.0},
                               "firewall_1m_ipfix": {"ratio": 0.96}}}
        self.assertTrue(all(ok for *_, ok in harness.check_targets(report)))
        # Watched loops: metrics within 2 %, IPFIX export within 5 %.
        report["observed"]["firewall_1m_ipfix"]["ratio"] = 0.94
        by_name = {name: ok for name, _, _, ok in harness.check_targets(report)}
        self.assertFalse(by_name["firewall loop, 1M connections, IPFIX export vs none"])
        report["observed"]["firewall_1m_ipfix"]["ratio"] = 0.96
        # The second generator profile is checked on its own rows.
        report["loop_server"] = fw
        by_name = {name: ok for name, _, _, ok in harness.check_targets(report)}
        self.assertFalse(
            by_name["L2 loop, generator as vhost-user server vs testpmd io-forward (Mpps)"])
        self.assertTrue(by_name["L2 loop vs testpmd io-forward (Mpps)"])
        report["loop_server"] = rows
        report["routed_stages"]["vxlan_ratio"] = 2.1
        by_name = {name: ok for name, _, _, ok in harness.check_targets(report)}
        self.assertFalse(by_name["VXLAN encap+decap cycles vs the L2 bridge"])
        report["routed_stages"]["vxlan_ratio"] = 1.8
        report["routed_stages"]["fw_flows_1m"] = 900.0
        by_name = {name: ok for name, _, _, ok in harness.check_targets(report)}
        self.assertFalse(by_name["established flows 1K -> 1M, cycles/packet loss"])
        report["routed_stages"]["fw_flows_1m"] = 700.0
        report["loop_routed"] = harness.loop_table({"testpmd": {"mpps": 8.0},
                                                    "vswitchd": {"mpps": 6.0}}, 3e9)
        by_name = {name: ok for name, _, _, ok in harness.check_targets(report)}
        self.assertFalse(by_name["routed loop vs testpmd io-forward (Mpps)"])
        report["loop_routed"] = routed
        report["pairs_sweep"][1]["mpps"] = None
        by_name = {name: ok for name, _, _, ok in harness.check_targets(report)}
        self.assertFalse(by_name["loss 1 -> 100K MAC pairs"])
        report["routed_stages"]["routes_1m"] = 260.0
        by_name = {name: ok for name, _, _, ok in harness.check_targets(report)}
        self.assertFalse(by_name["routed cycles/packet, 10 -> 1M routes (1K flows), loss"])
        report["routed_stages"]["routes_1m"] = 190.0
        report["pairs_sweep"][1]["mpps"] = 9.5
        report["scaling"]["2"] = 12.0
        failed = [name for name, _, _, ok in harness.check_targets(report) if not ok]
        self.assertEqual(failed, ["pipeline 2 workers vs 1"])


REPORT = """# Samples: 1K of event 'cpu-clock'
#
 60.00% |librte_vhost.so.23.0 |[.] 0x000000000007e477
 25.00% |vswitchd             |[.] vswitch::datapath::process_burst
 10.00% |vswitchd             |[.] std::sys::backtrace::__rust_begin_short_backtrace
  5.00% |librte_mbuf.so.23.0  |[.] rte_pktmbuf_free_bulk
"""


STAGE_BENCH = """header
firewall new connections: 527.4 cycles each, 4.92 M/s on one core (2.60 GHz TSC)
nat snat, established flows: 10000 flows 495.0 cycles/packet; the firewall alone 259.8
nat new connections: 1721.1 cycles each, 1.51 M/s on one core; 122 bytes of bindings per connection
nat vip, established flows: 10000 flows 550.9 cycles/packet
nat vip new connections: 2227.1 cycles each, 1.17 M/s on one core
nat maglev table: 1000 backends, 65537 slots, built in 1.9 ms
"""


class StageBenchTest(unittest.TestCase):
    def test_firewall_and_nat_lines_stay_apart(self):
        import bench
        _, figures = bench.parse_stage_bench(STAGE_BENCH)
        self.assertEqual(figures["fw_new_conn_mps"], 4.92)
        self.assertEqual(figures["nat_new_conn_mps"], 1.51)
        self.assertEqual(figures["nat_binding_bytes"], 122.0)
        self.assertEqual((figures["nat_established"], figures["nat_fw_established"]),
                         (495.0, 259.8))
        self.assertEqual(figures["vip_established"], 550.9)
        self.assertEqual(figures["vip_new_conn_mps"], 1.17)
        self.assertEqual(figures["maglev_1000_ms"], 1.9)


class ProfileTest(unittest.TestCase):
    def test_shares_become_cycles_per_packet(self):
        rows = cycle_split.parse(REPORT)
        self.assertEqual(len(rows), 4)
        lines = cycle_split.breakdown(rows, 200.0, 1)
        self.assertIn("200.0", lines[0])
        self.assertTrue(lines[1].strip().startswith("vhost library"))
        self.assertIn("120.0", lines[1])
        own = [line for line in lines if line.strip().startswith("switch's own code")]
        self.assertIn("70.0", own[0])
        self.assertIn("process_burst", lines[-1])
        self.assertIn("50.0", lines[-1])


if __name__ == "__main__":
    unittest.main()
