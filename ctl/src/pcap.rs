//! Reading a frame from a capture file: classic pcap (either byte order, micro- or
//! nanosecond) or pcapng (enhanced and simple packet blocks).

use std::path::Path;

use crate::error::Error;

/// Frame number `index` (1 = the first) of the capture file `path`.
pub fn read_frame(path: &Path, index: usize) -> Result<Vec<u8>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let bad = |why: &str| Error::Usage(format!("{}: {why}", path.display()));
    let frames = match bytes.get(..4) {
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => pcapng_frames(&bytes),
        Some(_) => classic_frames(&bytes),
        None => None,
    }
    .ok_or_else(|| bad("not a pcap or pcapng file"))?;
    let count = frames.len();
    index
        .checked_sub(1)
        .and_then(|i| frames.into_iter().nth(i))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| bad(&format!("no frame {index}: the file holds {count}")))
}

fn u32_at(b: &[u8], at: usize, big: bool) -> Option<u32> {
    let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(match big {
        true => u32::from_be_bytes(w),
        false => u32::from_le_bytes(w),
    })
}

fn classic_frames(b: &[u8]) -> Option<Vec<&[u8]>> {
    let big = match u32_at(b, 0, false)? {
        0xa1b2c3d4 | 0xa1b23c4d => false,
        0xd4c3b2a1 | 0x4d3cb2a1 => true,
        _ => return None,
    };
    let (mut at, mut frames) = (24, Vec::new());
    while at + 16 <= b.len() {
        let len = u32_at(b, at + 8, big)? as usize;
        frames.push(b.get(at + 16..at + 16 + len)?);
        at += 16 + len;
    }
    Some(frames)
}

fn pcapng_frames(b: &[u8]) -> Option<Vec<&[u8]>> {
    // The section header's byte-order magic says how every block of the section is written.
    let big = match u32_at(b, 8, false)? {
        0x1a2b3c4d => false,
        0x4d3c2b1a => true,
        _ => return None,
    };
    let (mut at, mut frames) = (0, Vec::new());
    while at + 12 <= b.len() {
        let kind = u32_at(b, at, big)?;
        let total = u32_at(b, at + 4, big)? as usize;
        if total < 12 {
            return None;
        }
        match kind {
            // Enhanced packet block: interface, time (2 words), captured length, original.
            6 => {
                let len = u32_at(b, at + 20, big)? as usize;
                frames.push(b.get(at + 28..at + 28 + len)?);
            }
            // Simple packet block: the original length, then the frame.
            3 => {
                let len = (u32_at(b, at + 8, big)? as usize).min(total - 16);
                frames.push(b.get(at + 12..at + 12 + len)?);
            }
            _ => {}
        }
        at += total;
    }
    Some(frames)
}
