//! A VirtualBox client nobody here wrote, driving the simulated VirtualBox: Vagrant (Debian's
//! package) brings a box up, configures a private host-only network in the guest the Debian way
//! (its `configure_networks` capability: /etc/network/interfaces, ifdown/ifup), halts it
//! gracefully, brings it up again and destroys it. Whatever Vagrant needs of VBoxManage and of
//! a guest that vboxsim got wrong shows here as a failed step.

use std::path::{Path, PathBuf};

use crate::world::{World, vboxsim};

/// Vagrant's insecure public key, which boxes ship authorized for `vagrant` and which Vagrant
/// replaces with a key of its own on the first `up` (Debian installs it with the gem).
fn insecure_key() -> PathBuf {
    let gems = Path::new("/usr/share/rubygems-integration/all/gems");
    std::fs::read_dir(gems)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("keys/vagrant.pub"))
        .find(|key| {
            key.exists()
                && key
                    .parent()
                    .and_then(Path::parent)
                    .and_then(Path::file_name)
                    .is_some_and(|name| name.to_string_lossy().starts_with("vagrant-"))
        })
        .expect("Vagrant's insecure key is missing: install vagrant (scripts/setup does, as root)")
}

/// A Vagrant box of the `box` appliance flavour: the OVA's OVF (as box.ovf) and disk, and
/// metadata.json naming the provider, as `vagrant package` lays a VirtualBox box out.
fn make_box(world: &World) -> PathBuf {
    let ova = world.dir.join("debian.ova");
    let made = std::process::Command::new(vboxsim())
        .args(["make-ova", "--flavour", "box", "--out"])
        .arg(&ova)
        .args([
            "--name",
            "debian-box",
            "--user",
            "vagrant",
            "--password",
            "vagrant",
        ])
        .arg("--authorized-key")
        .arg(insecure_key())
        .output()
        .expect("make-ova");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let unpacked = world.dir.join("box");
    std::fs::create_dir_all(&unpacked).unwrap();
    let tar = |args: &[&str], dir: &Path| {
        let status = std::process::Command::new("tar")
            .args(args)
            .current_dir(dir)
            .status()
            .expect("tar");
        assert!(status.success(), "tar {args:?}");
    };
    tar(&["-xf", &ova.display().to_string()], &unpacked);
    std::fs::rename(unpacked.join("debian-box.ovf"), unpacked.join("box.ovf")).unwrap();
    std::fs::write(
        unpacked.join("metadata.json"),
        "{\"provider\": \"virtualbox\"}\n",
    )
    .unwrap();
    let packed = world.dir.join("debian.box");
    tar(&["-czf", &packed.display().to_string(), "."], &unpacked);
    packed
}

const VAGRANTFILE: &str = r#"Vagrant.configure("2") do |config|
  config.vm.box = "sim/debian"
  # Shared folders need the vboxsf kernel module of real Guest Additions.
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.network "private_network", ip: "192.168.56.10"
  config.vm.provider "virtualbox" do |vb|
    vb.memory = 512
  end
end
"#;

#[test]
fn vagrant_brings_a_box_up_configures_a_private_network_halts_and_destroys_it() {
    assert!(
        Path::new("/usr/bin/vagrant").exists(),
        "/usr/bin/vagrant is missing (vagrant): run scripts/setup as root"
    );
    let world = World::new("vagrant");
    let vagrant_home = world.dir.join("vagrant.d");
    let home = vagrant_home.display().to_string();
    let env = [
        ("VAGRANT_HOME", home.as_str()),
        // Nothing leaves the world: no version or box update checks.
        ("VAGRANT_CHECKPOINT_DISABLE", "1"),
        ("VAGRANT_BOX_UPDATE_CHECK_DISABLE", "1"),
    ];
    let vagrant = |args: &[&str]| world.host_with("vagrant", args, &env);
    let packed = make_box(&world);
    vagrant(&[
        "box",
        "add",
        "--name",
        "sim/debian",
        &packed.display().to_string(),
    ])
    .expect(0, "vagrant box add");
    world.write("Vagrantfile", VAGRANTFILE);

    let up = vagrant(&["up", "--provider", "virtualbox"]);
    up.expect(0, "vagrant up");
    for step in [
        "Importing base box 'sim/debian'",
        "Adapter 2: hostonly",
        "22 (guest) => 2222 (host) (adapter 1)",
        "Inserting generated public key within guest",
        "Configuring and enabling network interfaces",
    ] {
        assert!(
            up.stdout.contains(step),
            "`{step}` missing from:\n{}",
            up.stdout
        );
    }
    let configured = vagrant(&[
        "ssh",
        "-c",
        "ip -4 -o addr show eth1; grep -A4 VAGRANT-BEGIN /etc/network/interfaces",
    ]);
    configured.expect(0, "vagrant ssh after up");
    assert!(
        configured.stdout.contains("inet 192.168.56.10/24")
            && configured.stdout.contains("iface eth1 inet static"),
        "{}",
        configured.stdout
    );

    let halt = vagrant(&["halt"]);
    halt.expect(0, "vagrant halt");
    assert!(
        halt.stdout.contains("Attempting graceful shutdown of VM")
            && !halt.stdout.contains("Forcing shutdown"),
        "the guest's shutdown must power the VM off by itself:\n{}",
        halt.stdout
    );
    let vms = world.vbox_ok(&["list", "vms"]);
    let uuid = vms
        .split(['{', '}'])
        .nth(1)
        .expect("the VM Vagrant made")
        .to_string();
    let info = world.vbox_ok(&["showvminfo", &uuid, "--machinereadable"]);
    assert!(info.contains("VMState=\"poweroff\""), "{info}");

    // Up again: the key Vagrant inserted and the network it configured are on the VM's disk.
    vagrant(&["up"]).expect(0, "vagrant up a second time");
    let again = vagrant(&["ssh", "-c", "ip -4 -o addr show eth1"]);
    again.expect(0, "vagrant ssh after the second up");
    assert!(
        again.stdout.contains("inet 192.168.56.10/24"),
        "{}",
        again.stdout
    );

    vagrant(&["destroy", "-f"]).expect(0, "vagrant destroy");
    assert!(world.vm_names().is_empty(), "{:?}", world.vm_names());
}
