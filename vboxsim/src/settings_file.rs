//! The `<name>.vbox` settings file in the VM folder: written from the model after every change,
//! in VirtualBox's XML layout, for clients that read it (e.g. Vagrant's 7.0.0 port-forward
//! workaround) and so that the file exists where `CfgFile=` points. The JSON store stays the
//! source of truth.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::model::machine::Machine;
use crate::model::nic::Attachment;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
}

pub fn render(m: &Machine) -> String {
    let mut adapters = String::new();
    for (i, n) in m.hw.nics.iter().enumerate() {
        let mut inner = String::new();
        match n.attachment {
            Attachment::Nat => {
                inner.push_str("          <NAT>\n");
                for r in &n.nat_rules {
                    inner.push_str(&format!(
                        "            <Forwarding name=\"{}\" proto=\"{}\" hostip=\"{}\" hostport=\"{}\" guestip=\"{}\" guestport=\"{}\"/>\n",
                        esc(&r.name),
                        if r.proto == "udp" { 0 } else { 1 },
                        esc(&r.host_ip),
                        r.host_port,
                        esc(&r.guest_ip),
                        r.guest_port
                    ));
                }
                inner.push_str("          </NAT>\n");
            }
            Attachment::Hostonly => inner.push_str(&format!(
                "          <HostOnlyInterface name=\"{}\"/>\n",
                esc(&n.hostonly_adapter)
            )),
            Attachment::Natnetwork => inner.push_str(&format!(
                "          <NATNetwork name=\"{}\"/>\n",
                esc(&n.nat_network)
            )),
            Attachment::Intnet => inner.push_str(&format!(
                "          <InternalNetwork name=\"{}\"/>\n",
                esc(&n.intnet)
            )),
            Attachment::Bridged => inner.push_str(&format!(
                "          <BridgedInterface name=\"{}\"/>\n",
                esc(&n.bridge_adapter)
            )),
            _ => {}
        }
        adapters.push_str(&format!(
            "        <Adapter slot=\"{i}\" enabled=\"{}\" MACAddress=\"{}\" cable=\"{}\" type=\"{}\">\n{inner}        </Adapter>\n",
            n.enabled(),
            n.mac,
            n.cable,
            n.nictype
        ));
    }
    let extra: String = m
        .extradata
        .iter()
        .map(|(k, v)| {
            format!(
                "      <ExtraDataItem name=\"{}\" value=\"{}\"/>\n",
                esc(k),
                esc(v)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?>\n<!-- Written by vboxsim: a VirtualBox stand-in. -->\n<VirtualBox xmlns=\"http://www.virtualbox.org/\" version=\"1.19-linux\">\n  <Machine uuid=\"{{{uuid}}}\" name=\"{name}\" OSType=\"{os}\" snapshotFolder=\"Snapshots\">\n    <Description>{desc}</Description>\n    <ExtraData>\n{extra}    </ExtraData>\n    <Hardware>\n      <CPU count=\"{cpus}\"/>\n      <Memory RAMSize=\"{mem}\"/>\n      <Network>\n{adapters}      </Network>\n    </Hardware>\n  </Machine>\n</VirtualBox>\n",
        uuid = m.uuid,
        name = esc(&m.name),
        os = esc(&m.hw.ostype),
        desc = esc(&m.description),
        cpus = m.hw.cpus,
        mem = m.hw.memory
    )
}

/// Writes the settings file atomically.
pub fn write(m: &Machine) -> Result<(), String> {
    let path = Path::new(&m.cfg_file);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = format!("{}.tmp{}", m.cfg_file, std::process::id());
    let mut f = fs::File::create(&tmp).map_err(|e| format!("cannot write {tmp}: {e}"))?;
    f.write_all(render(m).as_bytes())
        .map_err(|e| format!("cannot write {tmp}: {e}"))?;
    fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", m.cfg_file))
}
