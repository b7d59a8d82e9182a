//! End-to-end tests of labctl on the simulated VirtualBox (vboxsim): real guests, real sshd,
//! real services, driven only through labctl's command line. They need root and what
//! scripts/setup installs; without them they fail saying what is missing.

mod bringup;
mod course_labs;
mod crash;
mod guest_setup;
mod hosts;
mod provisioning;
mod real_client;
mod scenarios;
mod verification;
mod world;
