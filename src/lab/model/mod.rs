//! The validated lab model: types that can only hold a lab that makes sense.

mod check;
mod image;
mod lab;
mod left_out;
mod mac_address;
mod network;
mod secret;
mod step;
mod template_text;
mod vm;

pub use check::{Check, CheckKind, HeaderMatch, Identify};
pub use image::{Image, ImageSource, SecretVariable};
pub use lab::Lab;
pub use left_out::LeftOut;
pub use mac_address::{MacAddress, MacError};
pub use network::{Dhcp, Network, NetworkForward, NetworkKind};
pub use secret::{BasicAuth, Login, Password, PrivateKey};
pub use step::{Step, StepAction};
pub use template_text::TemplateText;
pub use vm::{Nic, NicForward, SshRoute, Vm};
