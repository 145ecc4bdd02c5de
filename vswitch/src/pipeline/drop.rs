//! Why the datapath drops a packet. The engine and each feature declare their own reasons (an
//! enum made by [`drop_reasons!`](crate::drop_reasons)); the graph numbers them one after
//! another, so that a reason is an index into a port's drop counters.

/// Room for drop reasons in every port's counters (all features together).
pub const MAX_DROP_REASONS: usize = 64;

/// A drop reason as the counters know it: an index in the graph's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DropReason(u8);

impl DropReason {
    /// The reason numbered `index` (the graph's numbering; see `datapath::drops`).
    #[inline(always)]
    pub const fn from_index(index: usize) -> DropReason {
        DropReason(index as u8)
    }

    #[inline(always)]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// One feature's set of drop reasons, as [`drop_reasons!`](crate::drop_reasons) declares it.
pub trait Reasons: Copy + 'static {
    /// The operator-facing counter names, in declaration order.
    const NAMES: &'static [&'static str];
    /// What each reason means and what to check, one line each (the variants' doc comments).
    const HELP: &'static [&'static str];
}

/// Declares a feature's drop reasons: an enum whose variants carry their counter name and,
/// in their doc comment, what they mean.
///
/// ```ignore
/// drop_reasons! {
///     /// Why the bridge drops a frame.
///     pub enum BridgeDrop {
///         /// The network's MAC limit is reached and the source MAC is new.
///         MacLimit => "mac_limit",
///     }
/// }
/// ```
#[macro_export]
macro_rules! drop_reasons {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[doc = $doc:literal])+ $variant:ident => $counter:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl $crate::pipeline::drop::Reasons for $name {
            const NAMES: &'static [&'static str] = &[$($counter),+];
            const HELP: &'static [&'static str] = &[$(concat!($($doc),+)),+];
        }
    };
}

/// Numbers sets of reasons one after another: `From<Set> for DropReason` for each, after the
/// sets before it. The engine's own reasons come first (see [`EngineDrop`]); the graph composes
/// the features' after them.
#[macro_export]
macro_rules! number_drop_reasons {
    ([$($before:ty,)*]) => {};
    ([$($before:ty,)*] $set:ty $(, $rest:ty)* $(,)?) => {
        impl From<$set> for $crate::pipeline::drop::DropReason {
            #[inline(always)]
            fn from(r: $set) -> Self {
                const BASE: usize =
                    0 $(+ <$before as $crate::pipeline::drop::Reasons>::NAMES.len())*;
                $crate::pipeline::drop::DropReason::from_index(BASE + r as usize)
            }
        }
        $crate::number_drop_reasons!([$($before,)* $set,] $($rest),*);
    };
}

crate::drop_reasons! {
    /// Why the engine itself drops a packet: frames it cannot parse or place, and what the
    /// stages share about buffers and ports.
    pub enum EngineDrop {
        /// Shorter than an Ethernet header (or a VLAN or IP header it announces).
        /// Check: the sender (a truncating capture or a broken NIC).
        Runt => "runt",
        /// Source MAC is multicast/broadcast or zero.
        /// Check: the sender's MAC address.
        BadSrcMac => "bad_src_mac",
        /// Tagged frame on an access port, a VLAN the trunk does not carry, or a stacked tag.
        /// Check: the port's --vlan/--trunk against the tags the peer sends.
        BadVlan => "bad_vlan",
        /// The port belongs to no network (or is gone from the configuration).
        /// Check: `vsctl port show`; give the port a --network, --vlan or --trunk.
        UnknownNetwork => "unknown_network",
        /// Broadcast/unknown frame in a network with no other port.
        /// Check: the network's other ports are up (a lone port has no one to flood to).
        NoEgressPort => "no_egress_port",
        /// Larger than the egress port's MTU.
        /// Check: the egress port's MTU against the sender's.
        Mtu => "mtu",
        /// The egress queue refused the packet.
        /// Check: the receiver keeps up (a guest's virtio queue, the worker's load).
        TxFull => "tx_full",
        /// No mbuf for a flood copy or a pushed header.
        /// Check: vswitchd --mbufs against the ports' queues.
        NoBuffer => "no_buffer",
        /// Malformed IPv4/IPv6 header (version, lengths, header checksum).
        /// Check: the sender's IP stack (or a corrupted link).
        BadIp => "bad_ip",
    }
}

crate::number_drop_reasons!([] EngineDrop);

/// Every reason of `sets` (each a `(NAMES, HELP)` pair, numbered in that order): index, counter
/// name and meaning.
pub fn enumerate(
    sets: impl Iterator<Item = &'static (&'static [&'static str], &'static [&'static str])>,
) -> impl Iterator<Item = (DropReason, &'static str, &'static str)> {
    sets.flat_map(|(names, help)| names.iter().zip(help.iter()))
        .enumerate()
        .map(|(i, (name, help))| (DropReason::from_index(i), *name, help.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::drop_reasons! {
        /// Reasons of a feature after the engine's.
        pub enum TestDrop {
            /// First.
            One => "one",
            /// Second,
            /// on two lines.
            Two => "two",
        }
    }

    crate::number_drop_reasons!([EngineDrop,] TestDrop);

    #[test]
    fn a_feature_is_numbered_after_the_sets_before_it() {
        let base = EngineDrop::NAMES.len();
        assert_eq!(DropReason::from(EngineDrop::Runt).index(), 0);
        assert_eq!(DropReason::from(TestDrop::One).index(), base);
        assert_eq!(DropReason::from(TestDrop::Two).index(), base + 1);
        const SETS: &[(&[&str], &[&str])] = &[
            (EngineDrop::NAMES, EngineDrop::HELP),
            (TestDrop::NAMES, TestDrop::HELP),
        ];
        let all: Vec<_> = enumerate(SETS.iter()).collect();
        assert_eq!(all[base + 1].0, DropReason::from(TestDrop::Two));
        assert_eq!(all[base + 1].1, "two");
        assert_eq!(all[base + 1].2, "Second, on two lines.");
    }
}
