//! Blobs: byte strings of up to [`MAX_BLOB_SIZE`] named by their sha256 ([`BlobId`],
//! `&<base64>.sha256`), and two stores of them: [`MemoryBlobs`] and [`DiskBlobs`].
//!
//! `DiskBlobs` keeps each blob in its own file, `DIR/blobs/sha256/<2 hex>/<62 hex>` (the hex of
//! the id's 32 bytes, split after the first byte). A blob is written to `DIR/blobs/tmp/<hex>.tmp`,
//! fsynced, renamed into place, and the directory fsynced, so a crash leaves either the whole
//! blob or a temporary file (removed on the next open). Open lists the files (sizes from their
//! metadata) without reading them; `get` re-hashes what it reads and refuses a file whose
//! content no longer matches its name. Files whose names do not fit the layout are ignored
//! (the doctor reports them).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::log::sync_dir;
use super::StoreError;
use crate::legacy::message::canonical_b64;

/// The largest blob accepted.
pub const MAX_BLOB_SIZE: usize = 5 * 1024 * 1024;

/// A blob's id: the sha256 of its bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobId(pub [u8; 32]);

impl BlobId {
    /// The id of `data`.
    pub fn of(data: &[u8]) -> BlobId {
        BlobId(crate::crypto::sha256(data))
    }

    /// Parses `&<canonical base64 of 32 bytes>.sha256`.
    pub fn parse(s: &str) -> Result<BlobId, BadBlobId> {
        let bytes = s
            .strip_prefix('&')
            .and_then(|r| r.strip_suffix(".sha256"))
            .and_then(canonical_b64)
            .and_then(|b| <[u8; 32]>::try_from(b).ok());
        bytes.map(BlobId).ok_or_else(|| BadBlobId(s.to_string()))
    }

    /// The 64 lowercase hex digits of the id.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Display for BlobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "&{}.sha256", STANDARD.encode(self.0))
    }
}

impl std::fmt::Debug for BlobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobId({self})")
    }
}

impl std::str::FromStr for BlobId {
    type Err = BadBlobId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BlobId::parse(s)
    }
}

/// A string that is not a blob id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a blob id (&<canonical base64 of 32 bytes>.sha256): {0:?}")]
pub struct BadBlobId(pub String);

/// A blob store.
pub trait Blobs: Send {
    /// Stores `data` (at most [`MAX_BLOB_SIZE`] bytes) and returns its id; adding a blob that is
    /// already stored does nothing.
    fn add(&mut self, data: &[u8]) -> Result<BlobId, StoreError>;
    /// The size of a stored blob.
    fn has(&self, id: &BlobId) -> Option<u64>;
    /// A stored blob's bytes, checked against its id.
    fn get(&self, id: &BlobId) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every blob with its size, sorted by id.
    fn list(&self) -> Vec<(BlobId, u64)>;
}

fn check_size(len: usize) -> Result<(), StoreError> {
    if len > MAX_BLOB_SIZE {
        return Err(StoreError::TooLarge {
            what: "blob",
            size: len as u64,
            max: MAX_BLOB_SIZE as u64,
        });
    }
    Ok(())
}

/// Blobs in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryBlobs {
    blobs: BTreeMap<BlobId, Vec<u8>>,
}

impl MemoryBlobs {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Blobs for MemoryBlobs {
    fn add(&mut self, data: &[u8]) -> Result<BlobId, StoreError> {
        check_size(data.len())?;
        let id = BlobId::of(data);
        self.blobs.entry(id).or_insert_with(|| data.to_vec());
        Ok(id)
    }

    fn has(&self, id: &BlobId) -> Option<u64> {
        self.blobs.get(id).map(|b| b.len() as u64)
    }

    fn get(&self, id: &BlobId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.blobs.get(id).cloned())
    }

    fn list(&self) -> Vec<(BlobId, u64)> {
        self.blobs.iter().map(|(id, b)| (*id, b.len() as u64)).collect()
    }
}

/// The directory under a store directory that holds its blobs.
pub const BLOBS_DIR: &str = "blobs";

/// Where the blob `id` lives under the store directory `dir`.
pub fn blob_path(dir: &Path, id: &BlobId) -> PathBuf {
    let hex = id.hex();
    dir.join(BLOBS_DIR).join("sha256").join(&hex[..2]).join(&hex[2..])
}

/// What a walk of `blobs/` found.
#[derive(Debug)]
pub(crate) enum Found {
    Blob {
        id: BlobId,
        path: PathBuf,
        size: u64,
    },
    /// A leftover temporary file.
    Temp(PathBuf),
    /// Something that does not fit the layout.
    Stray(PathBuf),
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Everything under `DIR/blobs`, in path order.
pub(crate) fn walk(dir: &Path) -> io::Result<Vec<Found>> {
    let root = dir.join(BLOBS_DIR);
    let mut out = Vec::new();
    let sorted = |p: &Path| -> io::Result<Vec<fs::DirEntry>> {
        let mut v = fs::read_dir(p)?.collect::<io::Result<Vec<_>>>()?;
        v.sort_by_key(|e| e.file_name());
        Ok(v)
    };
    if !root.is_dir() {
        return Ok(out);
    }
    for top in sorted(&root)? {
        let name = top.file_name().to_string_lossy().into_owned();
        let ty = top.file_type()?;
        match name.as_str() {
            "tmp" if ty.is_dir() => {
                for t in sorted(&top.path())? {
                    out.push(Found::Temp(t.path()));
                }
            }
            "sha256" if ty.is_dir() => {
                for sub in sorted(&top.path())? {
                    let sub_name = sub.file_name().to_string_lossy().into_owned();
                    if !sub.file_type()?.is_dir() || !is_lower_hex(&sub_name, 2) {
                        out.push(Found::Stray(sub.path()));
                        continue;
                    }
                    for f in sorted(&sub.path())? {
                        let f_name = f.file_name().to_string_lossy().into_owned();
                        let meta = f.metadata()?;
                        if !meta.is_file() || !is_lower_hex(&f_name, 62) {
                            out.push(Found::Stray(f.path()));
                            continue;
                        }
                        let mut id = [0u8; 32];
                        hex::decode_to_slice(format!("{sub_name}{f_name}"), &mut id)
                            .expect("64 lowercase hex digits");
                        out.push(Found::Blob {
                            id: BlobId(id),
                            path: f.path(),
                            size: meta.len(),
                        });
                    }
                }
            }
            _ => out.push(Found::Stray(top.path())),
        }
    }
    Ok(out)
}

/// Reads a blob file (bounded by [`MAX_BLOB_SIZE`]) and checks it against `id`.
pub(crate) fn read_checked(path: &Path, id: &BlobId) -> Result<Vec<u8>, StoreError> {
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => StoreError::Corrupt(format!("blob {id}: its file is gone")),
        _ => StoreError::Io(e),
    })?;
    let size = file.metadata()?.len();
    if size > MAX_BLOB_SIZE as u64 {
        return Err(StoreError::Corrupt(format!(
            "blob {id}: file of {size} bytes is larger than a blob may be"
        )));
    }
    let mut data = Vec::with_capacity(size as usize);
    file.take(MAX_BLOB_SIZE as u64 + 1).read_to_end(&mut data)?;
    let got = BlobId::of(&data);
    if got != *id {
        return Err(StoreError::Corrupt(format!(
            "blob {id}: its file's content hashes to {got}"
        )));
    }
    Ok(data)
}

/// Blobs in files under `DIR/blobs`.
#[derive(Debug)]
pub struct DiskBlobs {
    dir: PathBuf,
    sizes: BTreeMap<BlobId, u64>,
}

impl DiskBlobs {
    /// Opens (creating if needed) the blobs of the store directory `dir`; removes temporary files
    /// left by a crash.
    pub fn open(dir: &Path) -> Result<DiskBlobs, StoreError> {
        let root = dir.join(BLOBS_DIR);
        fs::create_dir_all(root.join("sha256"))?;
        fs::create_dir_all(root.join("tmp"))?;
        let mut sizes = BTreeMap::new();
        for f in walk(dir)? {
            match f {
                Found::Blob { id, size, .. } => {
                    sizes.insert(id, size);
                }
                Found::Temp(p) => fs::remove_file(p)?,
                Found::Stray(_) => {}
            }
        }
        Ok(DiskBlobs {
            dir: dir.to_path_buf(),
            sizes,
        })
    }

    /// The file that holds blob `id`.
    pub fn path_of(&self, id: &BlobId) -> PathBuf {
        blob_path(&self.dir, id)
    }

    fn write(&self, id: &BlobId, data: &[u8]) -> io::Result<()> {
        let path = self.path_of(id);
        let sub = path.parent().expect("blob path has a parent");
        if !sub.is_dir() {
            fs::create_dir_all(sub)?;
            sync_dir(sub.parent().expect("sha256 directory"))?;
        }
        let tmp = self
            .dir
            .join(BLOBS_DIR)
            .join("tmp")
            .join(format!("{}.tmp", id.hex()));
        let result = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            sync_dir(sub)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

impl Blobs for DiskBlobs {
    fn add(&mut self, data: &[u8]) -> Result<BlobId, StoreError> {
        check_size(data.len())?;
        let id = BlobId::of(data);
        if !self.sizes.contains_key(&id) {
            self.write(&id, data)?;
            self.sizes.insert(id, data.len() as u64);
        }
        Ok(id)
    }

    fn has(&self, id: &BlobId) -> Option<u64> {
        self.sizes.get(id).copied()
    }

    fn get(&self, id: &BlobId) -> Result<Option<Vec<u8>>, StoreError> {
        if !self.sizes.contains_key(id) {
            return Ok(None);
        }
        read_checked(&self.path_of(id), id).map(Some)
    }

    fn list(&self) -> Vec<(BlobId, u64)> {
        self.sizes.iter().map(|(id, s)| (*id, *s)).collect()
    }
}
