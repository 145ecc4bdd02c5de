//! Every drop reason of the datapath, numbered: the engine's first, then the shared modules',
//! then each registered feature's (in `tables.rs`).

use super::tables::FEATURE_DROPS;
use crate::forwarding::NeighborDrop;
use crate::pipeline::drop::{self, DropReason, EngineDrop, Reasons, MAX_DROP_REASONS};

/// The sets numbered before the features': the engine's and the shared modules'.
const BASE: &[(&[&str], &[&str])] = &[
    (EngineDrop::NAMES, EngineDrop::HELP),
    (NeighborDrop::NAMES, NeighborDrop::HELP),
];

const fn count(sets: &[(&[&str], &[&str])]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < sets.len() {
        n += sets[i].0.len();
        i += 1;
    }
    n
}

const _: () = assert!(
    count(BASE) + count(FEATURE_DROPS) <= MAX_DROP_REASONS,
    "more drop reasons than a port has counters: raise MAX_DROP_REASONS"
);

/// Every drop reason: its counter index, name and meaning.
pub fn all() -> impl Iterator<Item = (DropReason, &'static str, &'static str)> {
    drop::enumerate(BASE.iter().chain(FEATURE_DROPS))
}

/// The counter name of `reason`.
pub fn name(reason: DropReason) -> &'static str {
    all()
        .nth(reason.index())
        .map_or("unknown", |(_, name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::BridgeDrop;
    use crate::dhcp::DhcpDrop;
    use crate::firewall::FirewallDrop;
    use crate::router::RouterDrop;
    use crate::vxlan::VxlanDrop;

    #[test]
    fn names_are_unique_and_numbered_in_order() {
        let mut names: Vec<_> = all().map(|(_, n, _)| n).collect();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count);
        for (i, (r, name, help)) in all().enumerate() {
            assert_eq!(r.index(), i);
            // `vsctl stats drops` prints it: what it means, then what to check.
            assert!(help.contains(". Check: "), "{name}: {help:?}");
        }
    }

    #[test]
    fn each_set_is_numbered_where_its_names_are_listed() {
        assert_eq!(name(EngineDrop::Runt.into()), "runt");
        assert_eq!(name(BridgeDrop::MacLimit.into()), "mac_limit");
        assert_eq!(name(NeighborDrop::BadArp.into()), "bad_arp");
        assert_eq!(name(RouterDrop::NoRoute.into()), "no_route");
        assert_eq!(name(DhcpDrop::DhcpBusy.into()), "dhcp_busy");
        assert_eq!(name(FirewallDrop::PolicyDeny.into()), "policy_deny");
        assert_eq!(name(VxlanDrop::VtepUnresolved.into()), "vtep_unresolved");
    }
}
