//! A complete index as bytes and back: the format of the on-disk index cache's entries
//! (`index_cache.rs` decides where they live and when they are used).

use super::{FrameIndex, IndexOrigin, IndexedFrame, Run};

/// The cache file's first bytes (format version 1).
const CACHE_MAGIC: &[u8; 8] = b"FKIDX\x001\n";
/// Bytes per frame in a cache file.
const CACHE_FRAME_BYTES: usize = 8 * 4 + 1;

impl FrameIndex {
    /// A complete index from the start as bytes for the on-disk cache; `None` for a partial
    /// or table-based index (nothing to save: a table costs nothing to read again).
    pub fn to_cache_bytes(&self) -> Option<Vec<u8>> {
        let total = self.total?;
        if self.table.is_some() || self.known_from_start() < total {
            return None;
        }
        let frames = self.frames();
        let mut out = Vec::with_capacity(CACHE_MAGIC.len() + 9 + frames.len() * CACHE_FRAME_BYTES);
        out.extend_from_slice(CACHE_MAGIC);
        out.extend_from_slice(&(frames.len() as u64).to_le_bytes());
        let flags = u8::from(self.missing_timestamp)
            | u8::from(self.ambiguous_timestamps) << 1
            | u8::from(self.truncated) << 2;
        out.push(flags);
        for f in frames {
            out.extend_from_slice(&f.pts.to_le_bytes());
            out.extend_from_slice(&f.dts.unwrap_or(i64::MIN).to_le_bytes());
            out.extend_from_slice(&f.position.unwrap_or(-1).to_le_bytes());
            out.extend_from_slice(&(f.decode_order as u64).to_le_bytes());
            out.push(u8::from(f.keyframe));
        }
        Some(out)
    }

    /// An index read back from [`FrameIndex::to_cache_bytes`]; `None` when the bytes are not
    /// a whole cache entry of this version.
    pub fn from_cache_bytes(bytes: &[u8]) -> Option<FrameIndex> {
        let rest = bytes.strip_prefix(CACHE_MAGIC.as_slice())?;
        let count = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?) as usize;
        let flags = *rest.get(8)?;
        let body = rest.get(9..)?;
        if count.checked_mul(CACHE_FRAME_BYTES)? != body.len() {
            return None;
        }
        let word = |chunk: &[u8], at: usize| -> Option<i64> {
            Some(i64::from_le_bytes(chunk.get(at..at + 8)?.try_into().ok()?))
        };
        let mut frames = Vec::with_capacity(count);
        for chunk in body.chunks_exact(CACHE_FRAME_BYTES) {
            let dts = word(chunk, 8)?;
            let position = word(chunk, 16)?;
            frames.push(IndexedFrame {
                pts: word(chunk, 0)?,
                dts: (dts != i64::MIN).then_some(dts),
                position: (position >= 0).then_some(position),
                decode_order: usize::try_from(word(chunk, 24)?).ok()?,
                keyframe: chunk[32] != 0,
            });
        }
        let run = Run::new(0, frames);
        Some(FrameIndex {
            total: Some(count),
            runs: vec![run],
            missing_timestamp: flags & 1 != 0,
            ambiguous_timestamps: flags & 2 != 0,
            truncated: flags & 4 != 0,
            origin: IndexOrigin::Cache,
            ..FrameIndex::default()
        })
    }
}
