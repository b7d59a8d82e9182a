//! VM disks on the host: a disk image file plus copy-on-write layer directories (overlayfs
//! upper layers) next to it. Import unpacks the appliance into a base layer; snapshots freeze
//! the current layer and start a differencing one; linked clones stack on a snapshot's layers.

use std::fs;
use std::path::Path;

/// The layer directory that belongs to the disk image `file`.
pub fn layer_of(file: &str) -> String {
    format!("{file}.layer")
}

/// Creates the image `file` (with `image` bytes) and its layer, unpacking `seed` (a tar archive)
/// into the layer when given.
pub fn create_disk(file: &str, image: &[u8], seed: Option<&[u8]>) -> Result<String, String> {
    if let Some(parent) = Path::new(file).parent() {
        fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    fs::write(file, image).map_err(|e| format!("cannot write {file}: {e}"))?;
    let layer = layer_of(file);
    fs::create_dir_all(&layer).map_err(|e| format!("cannot create {layer}: {e}"))?;
    if let Some(tar_bytes) = seed {
        unpack_seed(tar_bytes, &layer)
            .map_err(|e| format!("cannot unpack the appliance disk into {layer}: {e}"))?;
    }
    Ok(layer)
}

/// Unpacks an appliance disk's files into a layer. Character devices 0:0 are overlayfs
/// whiteouts (what the appliance lacks that the guests' shared base has); the tar crate does
/// not create device nodes, so they are made here. Other device files are refused.
fn unpack_seed(tar_bytes: &[u8], layer: &str) -> Result<(), String> {
    let mut archive = tar::Archive::new(tar_bytes);
    archive.set_preserve_permissions(true);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let header = entry.header();
        if !header.entry_type().is_character_special() {
            entry.unpack_in(layer).map_err(|e| e.to_string())?;
            continue;
        }
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        let device = (
            header.device_major().ok().flatten(),
            header.device_minor().ok().flatten(),
        );
        if device != (Some(0), Some(0))
            || path
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(format!("{}: device files are not allowed", path.display()));
        }
        let target = Path::new(layer).join(&path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let c_path = std::ffi::CString::new(target.as_os_str().as_encoded_bytes())
            .map_err(|e| e.to_string())?;
        // SAFETY: mknod with a valid NUL-terminated path.
        if unsafe { libc::mknod(c_path.as_ptr(), libc::S_IFCHR, libc::makedev(0, 0)) } != 0 {
            return Err(format!(
                "{}: {}",
                target.display(),
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

/// A differencing image (`<snapfolder>/{uuid}.vmdk`) with an empty layer, on top of `parent`.
pub fn create_diff(
    snap_folder: &str,
    uuid: &str,
    parent_file: &str,
) -> Result<(String, String), String> {
    let file = format!("{snap_folder}/{{{uuid}}}.vmdk");
    let descriptor = format!(
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicSparse\"\n\
         parentFileNameHint=\"{parent_file}\"\n\n# Extent description\nRW 0 SPARSE \"{{{uuid}}}.vmdk\"\n\n\
         # The Disk Data Base\n#DDB\n\nddb.uuid.image=\"{uuid}\"\n"
    );
    let layer = create_disk(&file, descriptor.as_bytes(), None)?;
    Ok((file, layer))
}

/// Copies a layer's whole content (owners, modes, xattrs, overlayfs whiteouts) into `to`.
pub fn copy_layer(from: &str, to: &str) -> Result<(), String> {
    let status = std::process::Command::new("cp")
        .args(["-a", "--", &format!("{from}/."), to])
        .status()
        .map_err(|e| format!("cannot run cp: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cannot copy the layer {from} to {to} ({status})"))
    }
}

/// Removes a disk image and its layer; missing files are fine (a killed run may have left half).
pub fn remove_disk(file: &str) {
    let _ = fs::remove_file(file);
    remove_layer(&layer_of(file));
}

pub fn remove_layer(layer: &str) {
    // Layers may hold files a guest made immutable or read-only dirs; plain recursive removal is
    // enough because we are root and nothing is mounted there once the VM process is gone.
    let _ = fs::remove_dir_all(layer);
}
