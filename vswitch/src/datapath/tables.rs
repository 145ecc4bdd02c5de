//! The features, registered: each one's part of a snapshot (`Tables`) and the state it keeps
//! across snapshots (`States`), side by side, the calls the config manager makes to all of them
//! through their [`Feature`] trait, and the numbering of their drop reasons. A new feature adds
//! one line to the list below.

use crate::feature::{Built, Feature};
use crate::forwarding::NeighborDrop;
use crate::model::error::ConfigError;
use crate::model::Model;
use crate::pipeline::drop::{EngineDrop, Reasons};
use crate::pipeline::snapshot::Topology;

/// Declares the registered features: `field: FeatureType, DropReasons;`, in the order they are
/// validated, built and housekept, and their drop reasons numbered.
macro_rules! features {
    ($($field:ident: $feature:ty, $drops:ty;)+) => {
        crate::number_drop_reasons!([EngineDrop,] NeighborDrop, $($drops),+);

        /// The features' drop reasons, in the order they are numbered (after the engine's and
        /// the shared ones).
        pub(super) const FEATURE_DROPS: &[(&[&str], &[&str])] =
            &[$((<$drops as Reasons>::NAMES, <$drops as Reasons>::HELP)),+];

        /// The features' parts of a snapshot.
        #[derive(Debug, Default)]
        pub struct Tables {
            $(pub $field: <$feature as Feature>::Tables,)+
        }

        /// What the features keep across snapshots.
        #[derive(Default)]
        pub struct States {
            $(pub $field: <$feature as Feature>::State,)+
        }

        /// Checks every feature's part of `model` (its networks and ports are valid).
        pub fn validate(model: &Model) -> Result<(), ConfigError> {
            $(<$feature as Feature>::validate(model)?;)+
            Ok(())
        }

        impl States {
            /// Keeps every feature's state to exactly the model's objects.
            pub fn sync(&mut self, model: &Model) {
                $(<$feature as Feature>::sync(&mut self.$field, model);)+
            }

            /// Every feature's restored state, from the files `read` returns by name.
            pub fn restore(
                &mut self,
                mut read: impl FnMut(&str) -> Result<Option<String>, String>,
            ) -> Result<(), String> {
                $(if let Some(file) = <$feature as Feature>::STATE_FILE {
                    if let Some(saved) = read(file)? {
                        if let Err(e) = <$feature as Feature>::restore(&mut self.$field, &saved) {
                            tracing::error!("{file}: {e}; starting without it");
                        }
                    }
                })+
                Ok(())
            }

            /// The state files that changed since the last call: (file, contents).
            pub fn changes(&mut self) -> Vec<(&'static str, String)> {
                let mut out = Vec::new();
                $(if let Some(file) = <$feature as Feature>::STATE_FILE {
                    if let Some(text) = <$feature as Feature>::changes(&mut self.$field) {
                        out.push((file, text));
                    }
                })+
                out
            }
        }

        impl Tables {
            /// Every feature's tables for `model`; then what they tell the topology.
            pub fn build(states: &States, model: &Model, built: &Built<'_>) -> Tables {
                Tables {
                    $($field: <$feature as Feature>::build(&states.$field, model, built),)+
                }
            }

            /// What the features' tables tell the topology.
            pub fn refine(&self, topo: &mut Topology) {
                $(<$feature as Feature>::refine(&self.$field, topo);)+
            }

            /// Every feature's periodic work on the published tables.
            pub fn housekeep(&self, now: u32) {
                $(<$feature as Feature>::housekeep(&self.$field, now);)+
            }

            /// Whether a feature's learned state asks for the tables to be built again.
            pub fn stale(&self) -> bool {
                false $(| <$feature as Feature>::stale(&self.$field))+
            }
        }
    };
}

features! {
    bridge: crate::bridge::Bridge, crate::bridge::BridgeDrop;
    router: crate::router::Router, crate::router::RouterDrop;
    dhcp: crate::dhcp::Dhcp, crate::dhcp::DhcpDrop;
    firewall: crate::firewall::FirewallFeature, crate::firewall::FirewallDrop;
    vxlan: crate::vxlan::Vxlan, crate::vxlan::VxlanDrop;
    nat: crate::nat::Nat, crate::nat::NatDrop;
}

/// A snapshot of the whole switch.
pub type Snapshot = crate::pipeline::snapshot::Snapshot<Tables>;
/// Where the current snapshot of the switch is published.
pub type SnapshotCell = crate::pipeline::snapshot::SnapshotCell<Tables>;
