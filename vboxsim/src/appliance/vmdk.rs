//! Stream-optimized VMDK (the disk format inside OVAs): a writer that produces a real image
//! (grains compressed as zlib "stored" blocks, so no deflate implementation is needed), and a
//! reader for such images.

const SECTOR: usize = 512;
const GRAIN_SECTORS: u64 = 128;
const GRAIN_BYTES: usize = GRAIN_SECTORS as usize * SECTOR;
const GTES_PER_GT: u64 = 512;
const MAGIC: u32 = 0x564d_444b;

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65_521;
        b %= 65_521;
    }
    (b << 16) | a
}

/// zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// Inflates a zlib stream made only of stored blocks; None for anything else.
fn unzlib_stored(data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < 2 || data[0] & 0x0f != 8 {
        return None;
    }
    let mut pos = 2;
    let mut out = Vec::new();
    loop {
        let hdr = *data.get(pos)?;
        if (hdr >> 1) & 3 != 0 {
            return None;
        }
        let len = u16::from_le_bytes([*data.get(pos + 1)?, *data.get(pos + 2)?]) as usize;
        out.extend_from_slice(data.get(pos + 5..pos + 5 + len)?);
        pos += 5 + len;
        if hdr & 1 == 1 {
            return Some(out);
        }
    }
}

fn pad_sector(buf: &mut Vec<u8>) {
    while !buf.len().is_multiple_of(SECTOR) {
        buf.push(0);
    }
}

fn header(capacity: u64, desc_sectors: u64, overhead: u64, gd_offset: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(SECTOR);
    h.extend_from_slice(&MAGIC.to_le_bytes());
    h.extend_from_slice(&3u32.to_le_bytes());
    h.extend_from_slice(&0x0003_0001u32.to_le_bytes());
    h.extend_from_slice(&capacity.to_le_bytes());
    h.extend_from_slice(&GRAIN_SECTORS.to_le_bytes());
    h.extend_from_slice(&1u64.to_le_bytes());
    h.extend_from_slice(&desc_sectors.to_le_bytes());
    h.extend_from_slice(&(GTES_PER_GT as u32).to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes());
    h.extend_from_slice(&gd_offset.to_le_bytes());
    h.extend_from_slice(&overhead.to_le_bytes());
    h.push(0);
    h.extend_from_slice(b"\n \r\n");
    h.extend_from_slice(&1u16.to_le_bytes());
    pad_sector(&mut h);
    h
}

fn marker(value: u64, size: u32, kind: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(SECTOR);
    m.extend_from_slice(&value.to_le_bytes());
    m.extend_from_slice(&size.to_le_bytes());
    m.extend_from_slice(&kind.to_le_bytes());
    pad_sector(&mut m);
    m
}

/// Writes `data` as the first bytes of a disk of `capacity_bytes`, named `file_name` in its
/// descriptor. Returns the image bytes.
pub fn write_stream_optimized(
    data: &[u8],
    capacity_bytes: u64,
    file_name: &str,
    uuid: &str,
) -> Vec<u8> {
    let capacity = capacity_bytes.div_ceil(SECTOR as u64).max(GRAIN_SECTORS);
    let capacity = capacity.div_ceil(GRAIN_SECTORS) * GRAIN_SECTORS;
    let cylinders = (capacity / (16 * 63)).min(16383);
    let cid = format!("{:08x}", adler32(data));
    let descriptor = format!(
        "# Disk DescriptorFile\nversion=1\nCID={cid}\nparentCID=ffffffff\ncreateType=\"streamOptimized\"\n\n\
         # Extent description\nRW {capacity} SPARSE \"{file_name}\"\n\n# The disk Data Base\n#DDB\n\n\
         ddb.virtualHWVersion = \"4\"\nddb.adapterType=\"ide\"\nddb.geometry.cylinders=\"{cylinders}\"\n\
         ddb.geometry.heads=\"16\"\nddb.geometry.sectors=\"63\"\nddb.uuid.image=\"{uuid}\"\n\
         ddb.uuid.parent=\"00000000-0000-0000-0000-000000000000\"\n\
         ddb.uuid.modification=\"00000000-0000-0000-0000-000000000000\"\n\
         ddb.uuid.parentmodification=\"00000000-0000-0000-0000-000000000000\"\n"
    );
    let desc_sectors = (descriptor.len().div_ceil(SECTOR)) as u64;
    let overhead = GRAIN_SECTORS;
    let mut out = header(capacity, desc_sectors, overhead, u64::MAX);
    out.extend_from_slice(descriptor.as_bytes());
    out.resize(overhead as usize * SECTOR, 0);
    let grains_total = capacity / GRAIN_SECTORS;
    let gt_count = grains_total.div_ceil(GTES_PER_GT);
    let mut gts: Vec<Vec<u32>> = vec![Vec::new(); gt_count as usize];
    for (g, chunk) in data.chunks(GRAIN_BYTES).enumerate() {
        if chunk.iter().all(|b| *b == 0) {
            continue;
        }
        let mut grain = chunk.to_vec();
        grain.resize(GRAIN_BYTES, 0);
        let z = zlib_stored(&grain);
        let at = (out.len() / SECTOR) as u32;
        out.extend_from_slice(&(g as u64 * GRAIN_SECTORS).to_le_bytes());
        out.extend_from_slice(&(z.len() as u32).to_le_bytes());
        out.extend_from_slice(&z);
        pad_sector(&mut out);
        let gt = &mut gts[g / GTES_PER_GT as usize];
        if gt.is_empty() {
            gt.resize(GTES_PER_GT as usize, 0);
        }
        gt[g % GTES_PER_GT as usize] = at;
    }
    let gt_sectors = GTES_PER_GT * 4 / SECTOR as u64;
    let mut gd = vec![0u32; gt_count as usize];
    for (i, gt) in gts.iter().enumerate() {
        if gt.is_empty() {
            continue;
        }
        out.extend_from_slice(&marker(gt_sectors, 0, 1));
        gd[i] = (out.len() / SECTOR) as u32;
        for e in gt {
            out.extend_from_slice(&e.to_le_bytes());
        }
        pad_sector(&mut out);
    }
    let gd_sectors = (gd.len() * 4).div_ceil(SECTOR) as u64;
    out.extend_from_slice(&marker(gd_sectors, 0, 2));
    let gd_offset = (out.len() / SECTOR) as u64;
    for e in &gd {
        out.extend_from_slice(&e.to_le_bytes());
    }
    pad_sector(&mut out);
    out.extend_from_slice(&marker(1, 0, 3));
    out.extend_from_slice(&header(capacity, desc_sectors, overhead, gd_offset));
    out.extend_from_slice(&marker(0, 0, 0));
    out
}

/// The capacity (bytes) and the data of a stream-optimized image whose grains are stored
/// blocks; the data runs up to the last written grain. None if the image is not one of ours.
pub fn read_stream_optimized(image: &[u8]) -> Option<(u64, Vec<u8>)> {
    let u32_at = |o: usize| {
        image
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        image
            .get(o..o + 8)
            .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    };
    if u32_at(0)? != MAGIC {
        return None;
    }
    let capacity = u64_at(12)?;
    let overhead = usize::try_from(u64_at(64)?).ok()?;
    if overhead > image.len() / SECTOR {
        return None;
    }
    let mut pos = overhead.checked_mul(SECTOR)?;
    let mut data = Vec::new();
    while pos + 12 <= image.len() {
        let value = u64_at(pos)?;
        let size = u32_at(pos + 8)? as usize;
        if size == 0 {
            let kind = u32_at(pos + 12)?;
            if kind == 0 {
                break;
            }
            pos = pos.checked_add(
                usize::try_from(value)
                    .ok()?
                    .checked_mul(SECTOR)?
                    .checked_add(SECTOR)?,
            )?;
            continue;
        }
        let grain = unzlib_stored(image.get(pos + 12..pos.checked_add(12 + size)?)?)?;
        let at = usize::try_from(value).ok()?.checked_mul(SECTOR)?;
        if at > (1 << 30) {
            return None;
        }
        if data.len() < at + grain.len() {
            data.resize(at + grain.len(), 0);
        }
        data[at..at + grain.len()].copy_from_slice(&grain);
        pos += (12 + size).div_ceil(SECTOR) * SECTOR;
    }
    Some((capacity * SECTOR as u64, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let img = write_stream_optimized(
            &data,
            8 << 30,
            "x-disk001.vmdk",
            "00000000-0000-0000-0000-000000000001",
        );
        assert_eq!(&img[0..4], b"KDMV");
        let (cap, back) = read_stream_optimized(&img).unwrap();
        assert_eq!(cap, 8 << 30);
        assert_eq!(&back[..data.len()], &data[..]);
        assert!(back[data.len()..].iter().all(|b| *b == 0));
    }
}
