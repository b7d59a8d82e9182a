//! `vboxsim make-ova`: an OVA (tar: .ovf first, then the disk) whose OVF is a VirtualBox-style
//! OVF 1.0 descriptor and whose disk is a real stream-optimized VMDK. The disk's raw content is
//! a tar archive of the appliance layer: the login user (crypt hash, authorized keys) that the
//! guest creates at boot, and the files of the appliance's flavour (`appliance::flavour`): its
//! host name, its own network configuration, whether it has Guest Additions.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, Stdio};

use crate::appliance::flavour::{ApplianceInfo, Flavour};
use crate::appliance::ovf::{self, ApplianceSpec};
use crate::appliance::vmdk;
use crate::model::ids;

/// Where the appliance's login user lives on the disk (relative to the guest's root).
pub const USER_FILE: &str = "var/lib/vboxsim-guest/appliance/user.json";

/// The user record carried on the disk.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct ApplianceUser {
    pub name: String,
    pub password_hash: Option<String>,
    pub authorized_keys: Vec<String>,
}

struct Args {
    out: String,
    user: String,
    password: Option<String>,
    keys: Vec<String>,
    name: String,
    memory: u32,
    cpus: u32,
    nics: u32,
    flavour: Flavour,
    guest_additions: bool,
    /// A real bootable disk (`--real`), with these packages preinstalled.
    real: bool,
    packages: String,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        out: String::new(),
        user: String::new(),
        password: None,
        keys: Vec::new(),
        name: "vboxsim-debian".into(),
        memory: 1024,
        cpus: 1,
        nics: 1,
        flavour: Flavour::Course,
        guest_additions: false,
        real: false,
        packages: String::new(),
    };
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--guest-additions" || args[i] == "--real" {
            if args[i] == "--real" {
                a.real = true;
            } else {
                a.guest_additions = true;
            }
            i += 1;
            continue;
        }
        let (flag, inline) = match args[i].split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (args[i].clone(), None),
        };
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                args.get(i)
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))?
            }
        };
        let num = |v: &str| {
            v.parse::<u32>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--out" => a.out = value,
            "--user" => a.user = value,
            "--password" => a.password = Some(value),
            "--authorized-key" => a.keys.push(value),
            "--name" => a.name = value,
            "--memory" => a.memory = num(&value)?,
            "--cpus" => a.cpus = num(&value)?,
            "--nics" => a.nics = num(&value)?,
            "--packages" => a.packages = value,
            "--flavour" | "--flavor" => {
                a.flavour = Flavour::parse(&value).ok_or_else(|| {
                    format!("unknown flavour '{value}' (one of: {})", Flavour::NAMES)
                })?
            }
            _ => return Err(format!("unknown option {flag}")),
        }
        i += 1;
    }
    if a.out.is_empty() || a.user.is_empty() {
        return Err("--out and --user are required".into());
    }
    let valid_user = a
        .user
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && a.user
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    if !valid_user || a.user.len() > 32 {
        return Err(format!(
            "invalid user name '{}' (lowercase letters, digits, _ and -)",
            a.user
        ));
    }
    if a.name.is_empty() || a.name.contains('/') {
        return Err(format!("invalid VM name '{}'", a.name));
    }
    if a.real && (a.flavour != Flavour::Course || a.guest_additions) {
        return Err(
            "--real builds the course appliance (Debian, eth0 on DHCP, no Guest Additions)".into(),
        );
    }
    if !a.real && !a.packages.is_empty() {
        return Err("--packages needs --real (the other appliances share this machine's)".into());
    }
    if !(1..=8).contains(&a.nics) || !(1..=64).contains(&a.cpus) || a.memory < 4 {
        return Err("--nics must be 1..8, --cpus 1..64, --memory at least 4".into());
    }
    Ok(a)
}

/// SHA-512 crypt of `password` via `openssl passwd -6` (password on stdin, never in argv).
fn crypt(password: &str) -> Result<String, String> {
    let mut child = Command::new("openssl")
        .args(["passwd", "-6", "-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run openssl to hash the password (install openssl): {e}"))?;
    child
        .stdin
        .take()
        .ok_or("openssl stdin")?
        .write_all(format!("{password}\n").as_bytes())
        .map_err(|e| format!("openssl: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("openssl: {e}"))?;
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || !hash.starts_with("$6$") {
        return Err("openssl passwd -6 failed".into());
    }
    Ok(hash)
}

fn seed_tar(
    user: &ApplianceUser,
    flavour: Flavour,
    info: &ApplianceInfo,
) -> Result<Vec<u8>, String> {
    let json = serde_json::to_vec_pretty(user).map_err(|e| e.to_string())?;
    let mut builder = tar::Builder::new(Vec::new());
    let mut dir = |path: &str| -> Result<(), String> {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(ids::now_ns() / 1_000_000_000);
        builder
            .append_data(&mut h, path, &[][..])
            .map_err(|e| e.to_string())
    };
    let mut dirs = vec![
        "etc/",
        "var/",
        "var/lib/",
        "var/lib/vboxsim-guest/",
        "var/lib/vboxsim-guest/appliance/",
    ];
    dirs.extend(match flavour {
        Flavour::Course | Flavour::Box => &["etc/network/", "etc/network/interfaces.d/"][..],
        Flavour::Ubuntu => &["etc/netplan/"][..],
    });
    for path in dirs {
        dir(path)?;
    }
    // What the appliance's disk lacks, as overlayfs whiteouts (character devices 0:0), which
    // hide this machine's copy in the guest (see layers::create_disk).
    for path in flavour.absent() {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Char);
        h.set_mode(0);
        h.set_size(0);
        h.set_device_major(0).map_err(|e| e.to_string())?;
        h.set_device_minor(0).map_err(|e| e.to_string())?;
        h.set_mtime(ids::now_ns() / 1_000_000_000);
        builder
            .append_data(&mut h, path, &[][..])
            .map_err(|e| e.to_string())?;
    }
    let mut file = |path: &str, data: &[u8], mode: u32| -> Result<(), String> {
        let mut h = tar::Header::new_ustar();
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(ids::now_ns() / 1_000_000_000);
        builder
            .append_data(&mut h, path, data)
            .map_err(|e| e.to_string())
    };
    file(USER_FILE, &json, 0o600)?;
    for (path, content, mode) in flavour.files(info) {
        file(&path, content.as_bytes(), mode)?;
    }
    builder.into_inner().map_err(|e| e.to_string())
}

pub fn make(args: &[String]) -> Result<String, String> {
    let a = parse(args)?;
    let mut keys = Vec::new();
    for path in &a.keys {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            if line.contains("PRIVATE KEY") {
                return Err(format!("{path} is a private key; pass the .pub file"));
            }
            keys.push(line.to_string());
        }
    }
    let password_hash = match &a.password {
        Some(p) if p.is_empty() => return Err("--password must not be empty".into()),
        Some(p) => Some(crypt(p)?),
        None => None,
    };
    if password_hash.is_none() && keys.is_empty() {
        return Err("give --password and/or --authorized-key, or nobody can log in".into());
    }
    if a.real {
        return make_real(&a, &keys, password_hash.is_some());
    }
    let user = ApplianceUser {
        name: a.user.clone(),
        password_hash,
        authorized_keys: keys,
    };
    let info = a.flavour.info(a.guest_additions);
    let seed = seed_tar(&user, a.flavour, &info)?;
    let disk_name = format!("{}-disk001.vmdk", a.name);
    let disk_uuid = ids::new_uuid();
    let capacity: u64 = 10 << 30;
    let image = vmdk::write_stream_optimized(&seed, capacity, &disk_name, &disk_uuid);
    let xml = ovf::render(&ApplianceSpec {
        name: &a.name,
        memory: a.memory,
        cpus: a.cpus,
        nics: a.nics,
        disk_href: &disk_name,
        disk_capacity: capacity,
        disk_populated: 1 << 30,
        disk_uuid: &disk_uuid,
        user: &a.user,
        has_password: user.password_hash.is_some(),
        key_count: user.authorized_keys.len(),
    });
    let mut ova = tar::Builder::new(Vec::new());
    for (name, data, mode) in [
        (format!("{}.ovf", a.name), xml.into_bytes(), 0o644),
        (disk_name, image, 0o644),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(ids::now_ns() / 1_000_000_000);
        h.set_username("vboxsim").map_err(|e| e.to_string())?;
        h.set_groupname("vboxsim").map_err(|e| e.to_string())?;
        ova.append_data(&mut h, &name, &data[..])
            .map_err(|e| e.to_string())?;
    }
    let bytes = ova.into_inner().map_err(|e| e.to_string())?;
    let tmp = format!("{}.tmp{}", a.out, std::process::id());
    std::fs::write(&tmp, &bytes).map_err(|e| format!("cannot write {tmp}: {e}"))?;
    std::fs::rename(&tmp, &a.out).map_err(|e| format!("cannot write {}: {e}", a.out))?;
    Ok(a.out)
}

/// The script that builds a real appliance's disk (debootstrap, GRUB, qemu-img), carried in
/// the binary so that `make-ova --real` works from any directory.
const REAL_APPLIANCE_SCRIPT: &str = include_str!("../../scripts/real-appliance");

/// An OVA around a real, bootable Debian disk (see `scripts/real-appliance`), for worlds whose
/// VMs run on QEMU.
fn make_real(a: &Args, keys: &[String], has_password: bool) -> Result<String, String> {
    let work = format!("{}.real{}", a.out, std::process::id());
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {work}: {e}"))?;
    let result = build_real(a, keys, has_password, &work);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn build_real(a: &Args, keys: &[String], has_password: bool, work: &str) -> Result<String, String> {
    let script = format!("{work}/real-appliance");
    std::fs::write(&script, REAL_APPLIANCE_SCRIPT).map_err(|e| format!("{script}: {e}"))?;
    let disk_name = format!("{}-disk001.vmdk", a.name);
    let vmdk_path = format!("{work}/{disk_name}");
    let mut cmd = Command::new("bash");
    cmd.args([&script, "--out", &vmdk_path, "--user", &a.user]);
    if !keys.is_empty() {
        let key_file = format!("{work}/keys.pub");
        std::fs::write(&key_file, keys.join("\n") + "\n")
            .map_err(|e| format!("{key_file}: {e}"))?;
        cmd.args(["--authorized-key", &key_file]);
    }
    if let Some(password) = a.password.as_deref() {
        // The password reaches the script in a file only this user reads, never in argv.
        let password_file = format!("{work}/password");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&password_file)
            .map_err(|e| format!("{password_file}: {e}"))?;
        f.write_all(format!("{password}\n").as_bytes())
            .map_err(|e| format!("{password_file}: {e}"))?;
        cmd.args(["--password-file", &password_file]);
    }
    if !a.packages.is_empty() {
        cmd.args(["--packages", &a.packages]);
    }
    let status = cmd
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run bash: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the real appliance's disk failed ({status})"
        ));
    }
    let populated = std::fs::metadata(&vmdk_path)
        .map_err(|e| format!("{vmdk_path}: {e}"))?
        .len();
    // The disk's size as the script makes it (4 GiB), read back from the image.
    let capacity = vmdk_capacity(&vmdk_path)?;
    let xml = ovf::render(&ApplianceSpec {
        name: &a.name,
        memory: a.memory,
        cpus: a.cpus,
        nics: a.nics,
        disk_href: &disk_name,
        disk_capacity: capacity,
        disk_populated: populated,
        disk_uuid: &ids::new_uuid(),
        user: &a.user,
        has_password,
        key_count: keys.len(),
    });
    let tmp = format!("{}.tmp{}", a.out, std::process::id());
    let file = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {tmp}: {e}"))?;
    let mut ova = tar::Builder::new(std::io::BufWriter::new(file));
    let mut h = tar::Header::new_ustar();
    h.set_mode(0o644);
    h.set_size(xml.len() as u64);
    h.set_mtime(ids::now_ns() / 1_000_000_000);
    ova.append_data(&mut h, format!("{}.ovf", a.name), xml.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut disk = std::fs::File::open(&vmdk_path).map_err(|e| format!("{vmdk_path}: {e}"))?;
    ova.append_file(&disk_name, &mut disk)
        .map_err(|e| e.to_string())?;
    ova.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(|e| format!("cannot write {tmp}: {e}"))?;
    std::fs::rename(&tmp, &a.out).map_err(|e| format!("cannot write {}: {e}", a.out))?;
    Ok(a.out.clone())
}

/// The capacity (bytes) in a stream-optimized VMDK's header (sectors at offset 12).
fn vmdk_capacity(path: &str) -> Result<u64, String> {
    let mut head = [0u8; 20];
    let mut f = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    std::io::Read::read_exact(&mut f, &mut head).map_err(|e| format!("{path}: {e}"))?;
    if &head[..4] != b"KDMV" {
        return Err(format!("{path} is not a VMDK"));
    }
    let sectors = u64::from_le_bytes(head[12..20].try_into().expect("8 bytes"));
    Ok(sectors * 512)
}

pub fn main(args: &[String]) -> i32 {
    match make(args) {
        Ok(out) => {
            println!("{out}");
            0
        }
        Err(e) => {
            eprintln!("vboxsim make-ova: {e}");
            2
        }
    }
}
