//! Object storage: `s3://bucket/key` locations on any S3-compatible store (AWS S3, MinIO,
//! Ceph, R2), wherever framekit takes a path. Owns the store configuration (the usual
//! `AWS_*` environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`,
//! `AWS_REGION`, `AWS_SESSION_TOKEN`), the small tokio runtime `object_store`'s async calls run
//! on, and the operations the rest of framekit needs:
//!
//! - **Reading** goes through a presigned GET URL that FFmpeg's `https` protocol reads with
//!   range requests ([`presigned_get`]), so the lazy index reads an object's tables without
//!   downloading it. The URL is never shown: errors name the `s3://` location.
//! - **Listing** a prefix (`s3://bucket/folder/`) for the transcode batch ([`list`]),
//!   and [`head`] for an object's size and time (a job's input fingerprint, an output that
//!   exists).
//! - **Writing**: a finished local file is uploaded to a staging key beside its output
//!   (multipart above [`SINGLE_PUT_MAX`]; [`stage`]) and then published create-only
//!   ([`publish`]: a server-side copy completed with `If-None-Match: *`), so a stale worker
//!   cannot overwrite an output and a retried publish is idempotent, as on a filesystem.
//!
//! Credentials come only from the environment and are never printed: a refused request is
//! told as "the store refused the credentials", with the store's error code.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, S3CopyIfNotExists};
use object_store::path::Path as ObjectPath;
use object_store::signer::{Method, Signer};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

/// Files up to this size are uploaded in one PUT; larger ones in parts of [`PART_SIZE`].
pub const SINGLE_PUT_MAX: u64 = 16 * 1024 * 1024;

/// The size of one part of a multipart upload.
pub const PART_SIZE: usize = 16 * 1024 * 1024;

/// Parts uploaded at once (memory held: about this many parts).
const PARTS_IN_FLIGHT: usize = 4;

/// How long a presigned read URL stays valid: long enough for a slow job's reads (FFmpeg
/// reconnects with the same URL), short enough that a leaked one soon expires.
pub const PRESIGNED_READ_TTL: Duration = Duration::from_secs(6 * 3600);

/// Why an object-storage operation failed. Every message names the `s3://` location and
/// never a credential or a signed URL.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{url}: not an s3://bucket/key address ({why})")]
    BadUrl { url: String, why: &'static str },
    #[error(
        "{url}: no object-storage credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
         (and AWS_ENDPOINT_URL for a store other than AWS S3)"
    )]
    NoCredentials { url: String },
    #[error("{url}: the bucket {bucket} does not exist")]
    NoSuchBucket { url: String, bucket: String },
    #[error("{url}: no such object")]
    NotFound { url: String },
    #[error("{url}: the store refused the credentials ({code})")]
    Denied { url: String, code: String },
    #[error("{url}: already exists (outputs are never replaced without --force)")]
    AlreadyExists { url: String },
    #[error(
        "{url}: the output is {:.2} GiB, over the {:.0} GiB an S3 store copies in one piece, \
         and outputs are published create-only by that copy; write it to a folder instead",
        gib(*size),
        gib(*limit)
    )]
    TooLarge { url: String, size: u64, limit: u64 },
    #[error("{url}: cannot reach the object store: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url}: {reason}")]
    Store { url: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl StorageError {
    /// Whether retrying cannot help: a bad address, missing or refused credentials, a bucket
    /// that does not exist, an output that exists. Someone has to change something first.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            StorageError::BadUrl { .. }
                | StorageError::NoCredentials { .. }
                | StorageError::NoSuchBucket { .. }
                | StorageError::Denied { .. }
                | StorageError::AlreadyExists { .. }
                | StorageError::TooLarge { .. }
        )
    }
}

/// An `s3://bucket/key` location. A key that is empty or ends with `/` names a prefix
/// (a folder).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectUrl {
    pub bucket: String,
    pub key: String,
}

impl ObjectUrl {
    /// The location `text` names, when it is an `s3://` address; `None` for anything else.
    pub fn of(path: &Path) -> Option<Result<ObjectUrl, StorageError>> {
        let text = path.to_str()?;
        is_s3_text(text).then(|| ObjectUrl::parse(text))
    }

    /// Parses `s3://bucket/key`.
    pub fn parse(text: &str) -> Result<ObjectUrl, StorageError> {
        let bad = |why| StorageError::BadUrl {
            url: text.to_string(),
            why,
        };
        if !is_s3_text(text) {
            return Err(bad("it does not start with s3://"));
        }
        let rest = &text[5..];
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(bad(
                "a bucket name is 3-63 lower-case letters, digits, '-' and '.'",
            ));
        }
        if key.split('/').any(|part| part == "." || part == "..") {
            return Err(bad("a key has no '.' or '..' parts"));
        }
        Ok(ObjectUrl {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// Whether this names a prefix (a folder) rather than one object.
    pub fn is_prefix(&self) -> bool {
        self.key.is_empty() || self.key.ends_with('/')
    }

    /// The object `name` inside this prefix.
    pub fn join(&self, name: &str) -> ObjectUrl {
        let mut key = self.key.clone();
        if !key.is_empty() && !key.ends_with('/') {
            key.push('/');
        }
        key.push_str(name.trim_start_matches('/'));
        ObjectUrl {
            bucket: self.bucket.clone(),
            key,
        }
    }

    /// The last part of the key (the file name).
    pub fn file_name(&self) -> &str {
        self.key
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
    }

    /// A sibling object: `name` in the same prefix as this one.
    pub fn sibling(&self, name: &str) -> ObjectUrl {
        let parent = match self.key.trim_end_matches('/').rsplit_once('/') {
            Some((parent, _)) => format!("{parent}/"),
            None => String::new(),
        };
        ObjectUrl {
            bucket: self.bucket.clone(),
            key: format!("{parent}{name}"),
        }
    }

    fn object_path(&self) -> ObjectPath {
        ObjectPath::from(self.key.trim_end_matches('/'))
    }
}

impl std::fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// Whether `text` is an `s3://` address (any case of the scheme).
pub fn is_s3_text(text: &str) -> bool {
    text.get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("s3://"))
}

/// Whether `path` is an `s3://` address.
pub fn is_s3(path: &Path) -> bool {
    path.to_str().is_some_and(is_s3_text)
}

/// An object's size and last modification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub modified: SystemTime,
}

/// The store's endpoint as configured (`AWS_ENDPOINT_URL`), or AWS's regional endpoint: the
/// address the server-side request forgery check looks at.
pub fn endpoint() -> String {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    env("AWS_ENDPOINT_URL")
        .or_else(|| env("AWS_ENDPOINT"))
        .unwrap_or_else(|| {
            let region = env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".to_string());
            format!("https://s3.{region}.amazonaws.com")
        })
}

/// A presigned GET URL for `url`, valid for [`PRESIGNED_READ_TTL`]: what FFmpeg opens.
/// Secret: never print it.
pub fn presigned_get(url: &ObjectUrl) -> Result<String, StorageError> {
    let store = store_for(url)?;
    let path = url.object_path();
    let signed = runtime()
        .block_on(async {
            store
                .signed_url(Method::GET, &path, PRESIGNED_READ_TTL)
                .await
        })
        .map_err(|e| explain(url, e))?;
    Ok(signed.to_string())
}

/// An object's size and time.
pub fn head(url: &ObjectUrl) -> Result<ObjectInfo, StorageError> {
    let store = store_for(url)?;
    let path = url.object_path();
    let meta = runtime()
        .block_on(async { store.head(&path).await })
        .map_err(|e| explain_with_bucket_check(url, e))?;
    Ok(ObjectInfo {
        size: meta.size,
        modified: meta.last_modified.into(),
    })
}

/// Whether the object exists (a bucket that does not exist is an error, not "no").
pub fn exists(url: &ObjectUrl) -> Result<bool, StorageError> {
    match head(url) {
        Ok(_) => Ok(true),
        Err(StorageError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Why an object cannot be read, asked of the store itself (a HEAD): for an open that
/// failed, the store's own reason (no such bucket or key, refused credentials, unreachable)
/// instead of FFmpeg's HTTP status.
pub fn diagnose_read(url: &ObjectUrl) -> Option<StorageError> {
    head(url).err()
}

/// Every object below a prefix, sorted by key (the caller picks what it wants: the transcode
/// batch takes videos, as when walking a folder).
pub fn list(prefix: &ObjectUrl) -> Result<Vec<ObjectUrl>, StorageError> {
    let store = store_for(prefix)?;
    let key = prefix.key.trim_end_matches('/');
    let listed_prefix = (!key.is_empty()).then(|| ObjectPath::from(key));
    let metas: Vec<object_store::ObjectMeta> = runtime()
        .block_on(async { store.list(listed_prefix.as_ref()).try_collect().await })
        .map_err(|e| explain_with_bucket_check(prefix, e))?;
    let mut found: Vec<ObjectUrl> = metas
        .into_iter()
        .map(|meta| ObjectUrl {
            bucket: prefix.bucket.clone(),
            key: meta.location.to_string(),
        })
        .collect();
    found.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(found)
}

/// A local file uploaded to a staging key, waiting to be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub staging: ObjectUrl,
    pub size: u64,
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// The largest object S3 copies in one request (CopyObject, and UploadPartCopy without a
/// range): what [`publish`]'s create-only copy can move.
pub const COPY_MAX: u64 = 5 * 1024 * 1024 * 1024;

/// Refuses an output of `size` bytes that [`publish`] could not copy into place (asked before
/// anything is uploaded).
pub fn check_publishable(output: &ObjectUrl, size: u64) -> Result<(), StorageError> {
    if size > COPY_MAX {
        return Err(StorageError::TooLarge {
            url: output.to_string(),
            size,
            limit: COPY_MAX,
        });
    }
    Ok(())
}

/// Uploads `local` to `staging` (one PUT up to [`SINGLE_PUT_MAX`], parts above it, at most
/// [`PARTS_IN_FLIGHT`] parts in memory), overwriting a staging object left by an earlier try.
/// `should_stop` is asked between parts; a stopped upload is aborted.
pub fn stage(
    local: &Path,
    staging: &ObjectUrl,
    should_stop: &dyn Fn() -> bool,
) -> Result<Staged, StorageError> {
    use std::io::Read;
    let io = |source| StorageError::Io {
        path: local.display().to_string(),
        source,
    };
    let mut file = std::fs::File::open(local).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let store = store_for(staging)?;
    let path = staging.object_path();
    if size <= SINGLE_PUT_MAX {
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes).map_err(io)?;
        runtime()
            .block_on(async { store.put(&path, PutPayload::from(bytes)).await })
            .map_err(|e| explain_with_bucket_check(staging, e))?;
        return Ok(Staged {
            staging: staging.clone(),
            size,
        });
    }
    runtime().block_on(async {
        let upload = store
            .put_multipart(&path)
            .await
            .map_err(|e| explain_with_bucket_check(staging, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buffer = vec![0u8; 4 * 1024 * 1024];
        loop {
            if should_stop() {
                let _ = writer.abort().await;
                return Err(StorageError::Store {
                    url: staging.to_string(),
                    reason: "the upload was stopped".to_string(),
                });
            }
            let read = match file.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(io(e));
                }
            };
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                return Err(explain(staging, e));
            }
            writer.write(&buffer[..read]);
        }
        writer
            .finish()
            .await
            .map_err(|e| explain(staging, e))
            .map(|_| ())
    })?;
    Ok(Staged {
        staging: staging.clone(),
        size,
    })
}

/// Publishes a staged upload at `output`: a server-side copy that the store completes only if
/// `output` does not exist yet (`If-None-Match: *`), or an overwriting copy when `replace`.
/// Idempotent: when `output` exists with the staged size and was written after `since` (this
/// attempt's own earlier publish, which only the lease holder can reach), it is not an
/// error. The staging object is left for [`remove`].
pub fn publish(
    staged: &Staged,
    output: &ObjectUrl,
    replace: bool,
    since: SystemTime,
) -> Result<(), StorageError> {
    let store = store_for(output)?;
    let from = staged.staging.object_path();
    let to = output.object_path();
    let copied = runtime().block_on(async {
        if replace {
            store.copy(&from, &to).await
        } else {
            store.copy_if_not_exists(&from, &to).await
        }
    });
    match copied {
        Ok(()) => Ok(()),
        Err(object_store::Error::AlreadyExists { .. }) => match head(output) {
            // Stores keep times to the second (Last-Modified).
            Ok(info)
                if info.size == staged.size && info.modified + Duration::from_secs(1) >= since =>
            {
                Ok(())
            }
            _ => Err(StorageError::AlreadyExists {
                url: output.to_string(),
            }),
        },
        Err(e) => Err(explain(output, e)),
    }
}

/// Deletes an object (a staging object after publishing, or one a dead attempt left).
/// An object that is not there is fine.
pub fn remove(url: &ObjectUrl) -> Result<(), StorageError> {
    let store = store_for(url)?;
    let path = url.object_path();
    match runtime().block_on(async { store.delete(&path).await }) {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(explain(url, e)),
    }
}

/// The staging key of an attempt identified by `token`: a hidden name beside the output
/// (`.name.framekit-<token>.part.mp4`), which listings skip.
pub fn staging_for(output: &ObjectUrl, token: &str) -> ObjectUrl {
    output.sibling(&format!(
        ".{}.framekit-{token}.part.mp4",
        output.file_name()
    ))
}

/// The tokio runtime the store's async calls run on (two threads; created on first use).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("framekit-s3")
            .enable_all()
            .build()
            .unwrap_or_else(|e| {
                // Without a runtime no object can be reached; this only fails when the
                // process cannot start threads at all.
                tracing::error!("cannot start the object-storage runtime: {e}");
                std::process::abort()
            })
    })
}

/// The store for `url`'s bucket, built once per bucket from the environment.
fn store_for(url: &ObjectUrl) -> Result<Arc<AmazonS3>, StorageError> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<AmazonS3>>>> = OnceLock::new();
    let stores = STORES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut stores = stores
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(store) = stores.get(&url.bucket) {
        return Ok(store.clone());
    }
    let has = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    if !has("AWS_ACCESS_KEY_ID") || !has("AWS_SECRET_ACCESS_KEY") {
        return Err(StorageError::NoCredentials {
            url: url.to_string(),
        });
    }
    let endpoint = endpoint();
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&url.bucket)
        .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
        .with_retry(object_store::RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
            ..Default::default()
        })
        .with_client_options(
            object_store::ClientOptions::new()
                .with_connect_timeout(Duration::from_secs(10))
                .with_timeout(Duration::from_secs(300)),
        );
    if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
        builder = builder.with_region("us-east-1");
    }
    if endpoint.to_ascii_lowercase().starts_with("http://") {
        builder = builder.with_allow_http(true);
    }
    let store = Arc::new(builder.build().map_err(|e| StorageError::Store {
        url: url.to_string(),
        reason: format!(
            "the object-store configuration is not usable: {}",
            first_line(&e.to_string())
        ),
    })?);
    stores.insert(url.bucket.clone(), store.clone());
    Ok(store)
}

/// One line of an error's text (object_store's carry the response body).
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_string()
}

/// The S3 error code in an error's text (`<Code>NoSuchBucket</Code>`), if the store sent one.
fn error_code(text: &str) -> Option<String> {
    let start = text.find("<Code>")? + "<Code>".len();
    let end = text[start..].find("</Code>")? + start;
    Some(text[start..end].to_string())
}

/// A store error as a [`StorageError`] naming `url`.
fn explain(url: &ObjectUrl, error: object_store::Error) -> StorageError {
    let text = format!("{error:?} {error}");
    let code = error_code(&text);
    let url_text = url.to_string();
    match (code.as_deref(), &error) {
        (Some("NoSuchBucket"), _) => StorageError::NoSuchBucket {
            url: url_text,
            bucket: url.bucket.clone(),
        },
        (Some("NoSuchKey"), _) | (_, object_store::Error::NotFound { .. }) => {
            StorageError::NotFound { url: url_text }
        }
        (
            Some(
                code @ ("InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "AccessDenied"
                | "ExpiredToken"
                | "InvalidToken"),
            ),
            _,
        ) => StorageError::Denied {
            url: url_text,
            code: code.to_string(),
        },
        (
            _,
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. },
        ) => StorageError::Denied {
            url: url_text,
            code: BODILESS_DENIAL.to_string(),
        },
        (_, object_store::Error::AlreadyExists { .. }) => {
            StorageError::AlreadyExists { url: url_text }
        }
        _ if text.contains("error sending request")
            || text.contains("Connection refused")
            || text.contains("dns error")
            || text.contains("timed out") =>
        {
            StorageError::Unreachable {
                url: url_text,
                reason: format!("{} does not answer", endpoint()),
            }
        }
        _ => StorageError::Store {
            url: url_text,
            reason: first_line(&error.to_string()),
        },
    }
}

/// What a refusal without the store's error code says.
const BODILESS_DENIAL: &str = "access denied";

/// [`explain`], and for "not found" or a refusal without a code a second question (a
/// listing) that tells a missing bucket from a missing key and names the refusal's code: a
/// HEAD's answer has no body to say which.
fn explain_with_bucket_check(url: &ObjectUrl, error: object_store::Error) -> StorageError {
    let explained = explain(url, error);
    let bodiless = match &explained {
        StorageError::NotFound { .. } => true,
        StorageError::Denied { code, .. } => code == BODILESS_DENIAL,
        _ => false,
    };
    if !bodiless {
        return explained;
    }
    let Ok(store) = store_for(url) else {
        return explained;
    };
    let listed = runtime().block_on(async {
        store
            .list_with_delimiter(Some(&ObjectPath::from("framekit-bucket-check")))
            .await
    });
    match listed {
        Err(e) => match explain(url, e) {
            bucket @ StorageError::NoSuchBucket { .. } => bucket,
            denied @ StorageError::Denied { .. } => denied,
            _ => explained,
        },
        Ok(_) => explained,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_into_bucket_and_key() {
        let url = ObjectUrl::parse("s3://clips/in/a b.mp4").unwrap();
        assert_eq!(url.bucket, "clips");
        assert_eq!(url.key, "in/a b.mp4");
        assert!(!url.is_prefix());
        assert_eq!(url.file_name(), "a b.mp4");
        assert_eq!(url.to_string(), "s3://clips/in/a b.mp4");
        assert!(ObjectUrl::parse("S3://clips/").unwrap().is_prefix());
        assert!(ObjectUrl::parse("s3://clips").unwrap().is_prefix());
        assert_eq!(
            ObjectUrl::parse("s3://clips/out")
                .unwrap()
                .join("x.mp4")
                .key,
            "out/x.mp4"
        );
        assert_eq!(
            ObjectUrl::parse("s3://clips/out/a.mp4")
                .unwrap()
                .sibling(".a.part")
                .key,
            "out/.a.part"
        );
        assert_eq!(
            staging_for(&ObjectUrl::parse("s3://clips/a.mp4").unwrap(), "t1").key,
            ".a.mp4.framekit-t1.part.mp4"
        );
    }

    #[test]
    fn an_output_over_the_copy_limit_is_refused_before_uploading() {
        let output = ObjectUrl::parse("s3://films/out/long.mp4").unwrap();
        assert!(check_publishable(&output, COPY_MAX).is_ok());
        let error = check_publishable(&output, COPY_MAX + 1).unwrap_err();
        assert!(error.is_permanent());
        assert_eq!(
            error.to_string(),
            "s3://films/out/long.mp4: the output is 5.00 GiB, over the 5 GiB an S3 store copies \
             in one piece, and outputs are published create-only by that copy; write it to a \
             folder instead"
        );
    }

    #[test]
    fn bad_addresses_are_refused_with_a_reason() {
        for text in [
            "s3://",
            "s3://AB/x",
            "s3://a/x",
            "s3://clips/../x",
            "http://clips/x",
        ] {
            let error = ObjectUrl::parse(text).unwrap_err();
            assert!(error.to_string().starts_with(text), "{text}: {error}");
        }
        assert!(ObjectUrl::of(Path::new("/tmp/s3:/x")).is_none());
    }

    #[test]
    fn store_error_codes_are_read_from_the_body() {
        assert_eq!(
            error_code("status 404: <Error><Code>NoSuchBucket</Code></Error>").as_deref(),
            Some("NoSuchBucket")
        );
        assert_eq!(error_code("no body"), None);
    }
}
