//! The transcode batch's inputs, the one place both faces (CLI and app) take their rules
//! from: which files count as videos (one extension list), walking folders, naming outputs
//! (keeping sub-folders, never writing over the input), and enqueueing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::jobs::{Enqueued, JobError, JobStore};
use crate::transcode::Preset;

pub use crate::media::extensions::{VIDEO_EXTENSIONS, is_video_path};

/// The suffix of an output framekit names beside its input when `<stem>.mp4` would be the input
/// itself; such files are framekit's own and are not picked up again when walking a folder.
pub const OWN_OUTPUT_SUFFIX: &str = ".framekit.mp4";

/// Why a batch could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("{path}: {what}: {source}")]
    Io {
        path: String,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("no video files found in {0}")]
    NoVideos(String),
    #[error(transparent)]
    Jobs(#[from] JobError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

/// Whether a walk picks `path` up: a video, not hidden, and not an output framekit wrote beside
/// its input.
fn walk_takes(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    !name.starts_with('.') && !name.ends_with(OWN_OUTPUT_SUFFIX) && is_video_path(path)
}

/// A file to transcode and the folder it was found under (outputs keep the path below it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub path: PathBuf,
    pub root: PathBuf,
    /// Found by walking a folder (not named by the user).
    pub walked: bool,
}

/// The files named by `inputs`: files as given, folders walked for videos (sorted). Symbolic
/// links to folders are not followed (a link cycle cannot make the walk endless); links to
/// files are taken. A folder reached twice is walked once.
pub fn collect_inputs(inputs: &[PathBuf]) -> Result<Vec<InputFile>, BatchError> {
    let io = |path: &Path, what| {
        let path = path.display().to_string();
        move |source| BatchError::Io { path, what, source }
    };
    let mut found = Vec::new();
    let mut walked = HashSet::new();
    for input in inputs {
        if let Some(object) = crate::storage::ObjectUrl::of(input) {
            found.extend(objects_named(&object?)?);
            continue;
        }
        let meta = std::fs::metadata(input).map_err(io(input, "cannot read"))?;
        if !meta.is_dir() {
            let root = input.parent().map(Path::to_path_buf).unwrap_or_default();
            found.push(InputFile {
                path: input.clone(),
                root,
                walked: false,
            });
            continue;
        }
        let mut stack = vec![input.clone()];
        while let Some(dir) = stack.pop() {
            let canonical = std::fs::canonicalize(&dir).map_err(io(&dir, "cannot read"))?;
            if !walked.insert(canonical) {
                continue;
            }
            let mut entries: Vec<(PathBuf, std::fs::FileType)> = std::fs::read_dir(&dir)
                .map_err(io(&dir, "cannot list folder"))?
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_type().ok().map(|t| (e.path(), t)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            // Folders are pushed in reverse so they are walked in name order.
            for (path, kind) in entries.iter().rev() {
                if kind.is_dir() {
                    stack.push(path.clone());
                }
            }
            for (path, kind) in entries {
                if !kind.is_dir() && walk_takes(&path) {
                    found.push(InputFile {
                        path,
                        root: input.clone(),
                        walked: true,
                    });
                }
            }
        }
    }
    if found.is_empty() {
        let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
        return Err(BatchError::NoVideos(names.join(", ")));
    }
    Ok(found)
}

/// The objects an `s3://` input names: the object itself, or every video below it when it
/// names a prefix (`s3://bucket/folder/`, or a key with no object that has objects below it).
fn objects_named(
    object: &crate::storage::ObjectUrl,
) -> Result<Vec<InputFile>, crate::storage::StorageError> {
    use crate::storage::{ObjectUrl, StorageError};
    let as_file = |url: &ObjectUrl, root: &ObjectUrl, walked| InputFile {
        path: PathBuf::from(url.to_string()),
        root: PathBuf::from(root.to_string()),
        walked,
    };
    if !object.is_prefix() {
        match crate::storage::head(object) {
            Ok(_) => {
                let root = object.sibling("");
                return Ok(vec![as_file(object, &root, false)]);
            }
            Err(StorageError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let prefix = if object.is_prefix() {
        object.clone()
    } else {
        ObjectUrl {
            bucket: object.bucket.clone(),
            key: format!("{}/", object.key),
        }
    };
    let mut listed = crate::storage::list(&prefix)?;
    listed.retain(|url| walk_takes(Path::new(url.file_name())));
    if listed.is_empty() && !object.is_prefix() {
        return Err(StorageError::NotFound {
            url: object.to_string(),
        });
    }
    Ok(listed
        .iter()
        .map(|url| as_file(url, &prefix, true))
        .collect())
}

/// Where `input` is written: `<stem>.mp4` in `out` (keeping the sub-folders between `root` and
/// the input), or beside the input without `out`; `<stem>.framekit.mp4` when that would be the
/// input itself (compared after resolving links and `..`).
pub fn output_for(input: &InputFile, out: Option<&Path>) -> PathBuf {
    let stem = input
        .path
        .file_stem()
        .map_or("output".into(), |s| s.to_string_lossy().into_owned());
    let parent = input
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let folder = match out {
        Some(dir) => {
            let relative = parent
                .strip_prefix(&input.root)
                .map(Path::to_path_buf)
                .unwrap_or_default();
            dir.join(relative)
        }
        None => parent,
    };
    let candidate = folder.join(format!("{stem}.mp4"));
    if same_file(&candidate, &input.path) {
        folder.join(format!("{stem}{OWN_OUTPUT_SUFFIX}"))
    } else {
        candidate
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    if crate::storage::is_s3(a) || crate::storage::is_s3(b) {
        return a == b;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => std::path::absolute(a).ok() == std::path::absolute(b).ok(),
    }
}

/// One file put in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnqueuedFile {
    pub input: PathBuf,
    pub output: PathBuf,
    pub outcome: Enqueued,
}

/// Enqueues every file with its output; idempotent (the same input + preset + output is one
/// job). `force` redoes finished jobs and replaces their outputs. A file found by walking a
/// folder that is the output of a job in this queue is framekit's own work and is skipped
/// (running in place twice must not transcode its own outputs). With `segment`, a file longer
/// than it is cut into segments ([`JobStore::enqueue_segmented`]).
pub fn enqueue_files(
    queue: &mut dyn JobStore,
    files: &[InputFile],
    preset: &Preset,
    out: Option<&Path>,
    force: bool,
    segment: Option<std::time::Duration>,
) -> Result<Vec<EnqueuedFile>, BatchError> {
    let mut own_outputs = Vec::new();
    for file in files.iter().filter(|f| f.walked) {
        if queue.is_output(&file.path)? {
            own_outputs.push(file.path.clone());
        }
    }
    files
        .iter()
        .filter(|file| !own_outputs.contains(&file.path))
        .map(|file| {
            let output = output_for(file, out);
            let outcome =
                queue.enqueue_segmented(&file.path, preset.name, &output, force, segment)?;
            Ok(EnqueuedFile {
                input: file.path.clone(),
                output,
                outcome,
            })
        })
        .collect()
}

/// Why an added path is not staged for transcoding.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("not found")]
    NotFound,
    #[error("cannot read it ({0})")]
    Unreadable(std::io::Error),
    /// A named file without a video extension (`kind`: `.png`, or `no extension`).
    #[error("not a video file ({kind})")]
    NotVideoFile { kind: String },
    #[error("not a video FFmpeg can read ({0})")]
    Unopenable(ffmpeg_next::Error),
    #[error("has no video stream")]
    NoVideoStream,
    #[error("a folder without video files")]
    NoVideosInFolder,
    #[error(transparent)]
    Batch(BatchError),
}

/// Which of the added `paths` can be transcoded: each path on its own through
/// [`collect_inputs`] (files as named, folders walked for videos), so one bad path is refused
/// with its reason and never costs the others. A named file must also be a video: a video
/// file extension and a video stream FFmpeg can open. Reads the disk: call it off a UI thread.
pub fn check_inputs(paths: &[PathBuf]) -> (Vec<InputFile>, Vec<(PathBuf, Refusal)>) {
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for path in paths {
        if crate::storage::is_s3(path) {
            match collect_inputs(std::slice::from_ref(path)) {
                Ok(files) => accepted.extend(files),
                Err(BatchError::NoVideos(_)) => {
                    refused.push((path.clone(), Refusal::NoVideosInFolder))
                }
                Err(e) => refused.push((path.clone(), Refusal::Batch(e))),
            }
            continue;
        }
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                refused.push((path.clone(), Refusal::NotFound));
                continue;
            }
            Err(e) => {
                refused.push((path.clone(), Refusal::Unreadable(e)));
                continue;
            }
        };
        if !meta.is_dir()
            && let Some(why) = not_a_video(path)
        {
            refused.push((path.clone(), why));
            continue;
        }
        match collect_inputs(std::slice::from_ref(path)) {
            Ok(files) => accepted.extend(files),
            Err(BatchError::NoVideos(_)) => refused.push((path.clone(), Refusal::NoVideosInFolder)),
            Err(e) => refused.push((path.clone(), Refusal::Batch(e))),
        }
    }
    (accepted, refused)
}

/// Why a named file is not a video to transcode, if it is not.
fn not_a_video(path: &Path) -> Option<Refusal> {
    if !is_video_path(path) {
        let kind = path.extension().map_or("no extension".to_string(), |e| {
            format!(".{}", e.to_string_lossy())
        });
        return Some(Refusal::NotVideoFile { kind });
    }
    match crate::media::open_input(path) {
        Err(e) => Some(Refusal::Unopenable(e)),
        Ok(input) => input
            .streams()
            .best(ffmpeg_next::media::Type::Video)
            .is_none()
            .then_some(Refusal::NoVideoStream),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_keep_sub_folders_and_never_name_the_input() {
        let dir = tempfile::tempdir().expect("tempdir");
        let nested = dir.path().join("a").join("b");
        std::fs::create_dir_all(&nested).expect("mkdir");
        let clip = nested.join("clip.mov");
        let mp4 = nested.join("other.mp4");
        std::fs::write(&clip, b"x").expect("write");
        std::fs::write(&mp4, b"x").expect("write");
        let files = collect_inputs(&[dir.path().to_path_buf()]).expect("collect");
        assert_eq!(files.len(), 2);
        let out = dir.path().join("out");
        assert_eq!(
            output_for(&files[0], Some(&out)),
            out.join("a").join("b").join("clip.mp4")
        );
        let beside = files.iter().find(|f| f.path == mp4).expect("mp4 found");
        assert_eq!(output_for(beside, None), nested.join("other.framekit.mp4"));
    }

    #[test]
    fn walking_skips_link_cycles_hidden_files_and_own_outputs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("d");
        std::fs::create_dir_all(d.join("a")).expect("mkdir");
        std::fs::write(d.join("s1.mp4"), b"x").expect("write");
        std::fs::write(d.join("s1.framekit.mp4"), b"x").expect("write");
        std::fs::write(d.join(".hidden.mp4"), b"x").expect("write");
        std::fs::write(d.join("notes.txt"), b"x").expect("write");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(".", d.join("self")).expect("link");
            std::os::unix::fs::symlink("..", d.join("a").join("up")).expect("link");
        }
        let files = collect_inputs(std::slice::from_ref(&d)).expect("collect");
        let names: Vec<_> = files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(names, vec![d.join("s1.mp4")]);
    }

    #[test]
    fn a_folder_without_videos_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            collect_inputs(&[dir.path().to_path_buf()]),
            Err(BatchError::NoVideos(_))
        ));
    }
}
