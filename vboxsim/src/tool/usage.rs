//! The usage text of the `vboxsim` program (its subcommands, not VBoxManage's).

/// Printed for a missing or unknown subcommand.
pub const USAGE: &str = "usage:
  vboxsim vboxmanage ARGS...                 behave as VBoxManage (also: invoke as 'VBoxManage')
  vboxsim world create NAME [--replace] [--host linux|macos|windows] [--vms namespace|qemu]
                                             create an isolated world (network namespace + state)
                                             whose VirtualBox behaves as on that host (default linux),
                                             its VMs namespaced guests or real QEMU machines
  vboxsim world exec NAME -- CMD [ARGS...]   run CMD as the world's host
  vboxsim world destroy NAME                 stop the world's VMs, remove its namespace and state
  vboxsim world list                         list worlds
  vboxsim make-ova --out FILE.ova --user NAME [--password PW] [--authorized-key FILE.pub]...
                   [--name VMNAME] [--memory MB] [--cpus N] [--nics N]
                   [--flavour course|ubuntu|box] [--guest-additions] [--real [--packages LIST]]
  vboxsim fault lock-writes N | startvm-fail N | startvm-exit1 N | startvm-delay MS |
                hostonly-create-fail N | global-extradata-fail N | no-sshd on|off |
                clear | show
";
