//! Verification: running a lab's checks (with probes from the host or from VMs) and deciding
//! whether each holds. The decisions of the balancer checks are pure (`balancer`).

pub mod balancer;
pub mod probes;
pub mod verification;
pub mod verifier;

pub use probes::{HostProbes, HttpResponse, Probes};
pub use verification::{Verification, total_score};
pub use verifier::{CheckResult, Verifier};
