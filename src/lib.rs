//! labctl: declarative VirtualBox labs.
