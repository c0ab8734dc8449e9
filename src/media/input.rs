//! How framekit opens an input with FFmpeg: paths and URLs (`file:` for every local name,
//! never a URL), the request's deadline and cancel flag ([`IoGuard`]) on FFmpeg's interrupt
//! callback with the read bounds, the protocol and demuxer whitelists that keep playlists and
//! local files out unless allowed ([`LocalFiles`]), the network addresses a URL may reach
//! ([`Addresses`]: server-side request forgery), and the output side's `file:` rule.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{MediaErrorKind, init_ffmpeg, read_head_bytes};

/// The URL a path names, when it names one: an `http://`, `https://` or `s3://` address that
/// is not a file on disk (a name that exists on disk is always that file).
pub fn url_of(path: &Path) -> Option<&str> {
    url_text(path).filter(|_| !path.exists())
}

/// The URL a path names for a request that may or may not open local files: with
/// `local_files`, as [`url_of`]; without, every `http://` or `https://` text is the URL,
/// whatever exists on disk, so that no answer depends on (or tells) whether a local file
/// of that name exists.
pub fn url_of_when(path: &Path, local_files: bool) -> Option<&str> {
    if local_files {
        url_of(path)
    } else {
        url_text(path)
    }
}

fn url_text(path: &Path) -> Option<&str> {
    let text = path.to_str()?;
    let lower = text.get(..8)?.to_ascii_lowercase();
    let is_url = lower.starts_with("http://")
        || lower.starts_with("https://")
        || crate::storage::is_s3_text(text);
    is_url.then_some(text)
}

/// A `file://` URL as the local path it names (percent-escapes decoded); other text as is.
pub fn local_path(path: &Path) -> std::borrow::Cow<'_, Path> {
    let Some(rest) = path
        .to_str()
        .filter(|t| {
            !path.exists()
                && t.get(..7)
                    .is_some_and(|p| p.eq_ignore_ascii_case("file://"))
        })
        .map(|t| &t[7..])
    else {
        return std::borrow::Cow::Borrowed(path);
    };
    // file:///abs/path or file://localhost/abs/path
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let bytes = rest.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            decoded.push((high * 16 + low) as u8);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        std::borrow::Cow::Owned(PathBuf::from(std::ffi::OsString::from_vec(decoded)))
    }
    #[cfg(not(unix))]
    {
        std::borrow::Cow::Owned(PathBuf::from(
            String::from_utf8_lossy(&decoded).into_owned(),
        ))
    }
}

/// How long a network connection or read may stall before it fails, unless the caller says.
pub const DEFAULT_NETWORK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long reading a URL may take in all (a slow trickle or an endless body is cut here),
/// unless the caller says.
pub const DEFAULT_URL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// The largest single allocation FFmpeg may make (a frame that claims a huge size fails with
/// an error instead of taking the machine's memory): 1 GiB, above a 100-megapixel frame of
/// 8-byte pixels.
pub const FFMPEG_MAX_ALLOC: usize = 1 << 30;

/// How long reading one input may take in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deadline {
    /// [`DEFAULT_URL_DEADLINE`] for URLs, none for local files.
    #[default]
    UrlDefault,
    /// None (a viewer that keeps a URL open).
    Never,
    /// This long for any input.
    After(std::time::Duration),
}

impl Deadline {
    /// The limit for `path`, if any.
    pub fn for_path(self, path: &Path) -> Option<std::time::Duration> {
        match self {
            Deadline::UrlDefault => url_of(path).map(|_| DEFAULT_URL_DEADLINE),
            Deadline::Never => None,
            Deadline::After(limit) => Some(limit),
        }
    }
}

/// Stops FFmpeg's I/O on one input: a deadline for the whole request and a flag another
/// thread may raise. FFmpeg asks it between reads and while it waits on the network, so a
/// trickling server, an endless body or a stalled read ends when either says so.
#[derive(Debug)]
pub struct IoGuard {
    limit: Option<std::time::Duration>,
    deadline: Option<std::time::Instant>,
    cancelled: std::sync::atomic::AtomicBool,
}

impl IoGuard {
    /// A guard whose deadline is `limit` from now (none: only cancelling stops it).
    pub fn new(limit: Option<std::time::Duration>) -> Arc<IoGuard> {
        Arc::new(IoGuard {
            limit,
            deadline: limit.map(|l| std::time::Instant::now() + l),
            cancelled: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Stops the input's I/O from now on.
    pub fn cancel(&self) {
        self.cancelled
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Why I/O is stopped, if it is.
    pub fn stopped(&self) -> Option<MediaErrorKind> {
        if self.cancelled.load(std::sync::atomic::Ordering::SeqCst) {
            return Some(MediaErrorKind::Cancelled);
        }
        match (self.deadline, self.limit) {
            (Some(deadline), Some(limit)) if std::time::Instant::now() >= deadline => {
                Some(MediaErrorKind::DeadlineExceeded(limit.as_secs_f64()))
            }
            _ => None,
        }
    }
}

/// The demuxers allowed when playlists are not: every one FFmpeg has but HLS, DASH and
/// concat lists, which open further inputs (live, looping, or local files a URL names).
fn demuxers_without_playlists() -> &'static std::ffi::CStr {
    static LIST: std::sync::OnceLock<std::ffi::CString> = std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        const PLAYLISTS: [&str; 4] = ["hls", "dash", "concat", "applehttp"];
        let mut names = Vec::new();
        let mut opaque = std::ptr::null_mut();
        // SAFETY: av_demuxer_iterate walks FFmpeg's static list; names are static C strings.
        unsafe {
            loop {
                let format = ffmpeg_next::ffi::av_demuxer_iterate(&mut opaque);
                if format.is_null() {
                    break;
                }
                let name = std::ffi::CStr::from_ptr((*format).name).to_string_lossy();
                // A demuxer can have several comma-separated names.
                names.extend(
                    name.split(',')
                        .filter(|n| !PLAYLISTS.contains(n))
                        .map(str::to_string),
                );
            }
        }
        std::ffi::CString::new(names.join(",")).unwrap_or_default()
    })
}

/// What kind of playlist a path is, from its first bytes (local) or its name (URL).
pub fn playlist_kind(path: &Path) -> Option<&'static str> {
    playlist_kind_when(path, true)
}

/// [`playlist_kind`] for a request that may open local files or not (see [`url_of_when`]).
pub fn playlist_kind_when(path: &Path, local_files: bool) -> Option<&'static str> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let name = name.split(['?', '#']).next().unwrap_or_default();
    if url_of_when(path, local_files).is_some() {
        return if name.ends_with(".m3u8") || name.ends_with(".m3u") {
            Some("an HLS playlist")
        } else if name.ends_with(".mpd") {
            Some("a DASH manifest")
        } else if name.ends_with(".ffconcat") || name.ends_with(".concat") {
            Some("a concat list")
        } else {
            None
        };
    }
    let local = local_path(path);
    if !std::fs::metadata(&local).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let head = read_head_bytes(&local, 512).ok()?;
    let text = String::from_utf8_lossy(&head);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with("#EXTM3U") {
        Some("an HLS playlist")
    } else if trimmed.starts_with("ffconcat") {
        Some("a concat list")
    } else if trimmed.starts_with("<?xml") && text.contains("<MPD") {
        Some("a DASH manifest")
    } else {
        None
    }
}

/// Opens `path` with FFmpeg. A local file goes to FFmpeg as `file:` plus its bytes, never as
/// a URL, so a file named `pipe:0` or `http:/host/x` is that file and a name that is not
/// UTF-8 works (ffmpeg-next's `format::input` panics on one). An `http(s)://` address that
/// is not a file on disk is fetched.
pub fn open_input(path: &Path) -> Result<ffmpeg_next::format::context::Input, ffmpeg_next::Error> {
    open_input_with(path, DEFAULT_NETWORK_TIMEOUT)
}

/// [`open_input`] with a network timeout on connecting and on every read.
pub fn open_input_with(
    path: &Path,
    timeout: std::time::Duration,
) -> Result<ffmpeg_next::format::context::Input, ffmpeg_next::Error> {
    open_input_guarded(path, timeout, false, true, true, &IoGuard::new(None))
}

/// [`open_input_with`] under `guard` (its deadline and cancel flag stop FFmpeg's I/O, the
/// input keeps it alive), with only the `file`, `http` and `https` protocols (not `file`
/// unless `local_files`), and without the playlist demuxers (HLS, DASH, concat) unless
/// `allow_playlists`. A URL follows HTTP redirects only when `follow_redirects` (FFmpeg
/// connects to a redirect's target before framekit could check its address; see
/// [`Addresses`]). Reading also stops after
/// [`crate::read_bound::LIMIT_BYTES`] of zeros in a row (gigabytes of them after a valid
/// header), and opening after that much read in all: an open the bound stopped is reported
/// as invalid data.
pub fn open_input_guarded(
    path: &Path,
    timeout: std::time::Duration,
    allow_playlists: bool,
    local_files: bool,
    follow_redirects: bool,
    guard: &Arc<IoGuard>,
) -> Result<ffmpeg_next::format::context::Input, ffmpeg_next::Error> {
    let mut options = ffmpeg_next::Dictionary::new();
    let location = match url_of_when(path, local_files) {
        Some(url) => {
            // An object in a bucket is read through a presigned URL (range requests like any
            // https file); the URL is a secret and never leaves this function.
            let url = &match crate::storage::ObjectUrl::of(path) {
                Some(object) => object
                    .and_then(|object| crate::storage::presigned_get(&object))
                    .map_err(|_| ffmpeg_next::Error::Other {
                        errno: libc::EACCES,
                    })?,
                None => url.to_string(),
            };
            let micros = timeout.as_micros().max(1).to_string();
            options.set("rw_timeout", &micros);
            options.set("timeout", &micros);
            // Survive a dropped connection mid-file (a new range request where it stopped).
            options.set("reconnect", "1");
            if !follow_redirects {
                options.set("max_redirects", "0");
            }
            url.as_bytes().to_vec()
        }
        None => {
            let mut location = b"file:".to_vec();
            location.extend_from_slice(&path_bytes(&local_path(path)));
            location
        }
    };
    match (allow_playlists, local_files) {
        (true, true) => {}
        (false, true) => options.set("protocol_whitelist", "file,http,https,tcp,tls"),
        (_, false) => options.set("protocol_whitelist", "http,https,tcp,tls"),
    }
    let location = std::ffi::CString::new(location).map_err(|_| ffmpeg_next::Error::InvalidData)?;
    init_ffmpeg();
    let given_up = |code: std::ffi::c_int| {
        if code == ffmpeg_next::ffi::AVERROR_EXIT && guard.stopped().is_none() {
            ffmpeg_next::Error::InvalidData
        } else {
            ffmpeg_next::Error::from(code)
        }
    };
    // SAFETY: `location` is a valid C string that outlives the call; the options dictionary is
    // handed over and its leftovers freed after. The context is allocated here so the bounds
    // are installed before FFmpeg reads; on failure avformat_open_input frees it (and the
    // bounds' guard is dropped after), on success `Input::wrap_with_interrupt` takes both.
    // The whitelist string is FFmpeg's own copy (av_strdup).
    unsafe {
        let mut context = ffmpeg_next::ffi::avformat_alloc_context();
        if context.is_null() {
            return Err(ffmpeg_next::Error::Other {
                errno: libc::ENOMEM,
            });
        }
        if !allow_playlists {
            (*context).format_whitelist =
                ffmpeg_next::ffi::av_strdup(demuxers_without_playlists().as_ptr());
        }
        let bound = crate::read_bound::install(context, Some(guard.clone()));
        let mut raw_options = options.disown();
        let opened = ffmpeg_next::ffi::avformat_open_input(
            &mut context,
            location.as_ptr(),
            std::ptr::null_mut(),
            &mut raw_options,
        );
        ffmpeg_next::Dictionary::own(raw_options);
        if opened < 0 {
            return Err(given_up(opened));
        }
        let found = ffmpeg_next::ffi::avformat_find_stream_info(context, std::ptr::null_mut());
        if found < 0 {
            ffmpeg_next::ffi::avformat_close_input(&mut context);
            return Err(given_up(found));
        }
        bound
            .probing
            .store(false, std::sync::atomic::Ordering::SeqCst);
        Ok(ffmpeg_next::format::context::Input::wrap_with_interrupt(
            context,
            bound.guard,
        ))
    }
}

/// Creates `path` as a local file for FFmpeg to mux `format` into, with the same `file:`
/// rule as [`open_input`] (any name, never a URL).
pub fn open_output(
    path: &Path,
    format: &str,
) -> Result<ffmpeg_next::format::context::Output, ffmpeg_next::Error> {
    let mut location = b"file:".to_vec();
    location.extend_from_slice(&path_bytes(path));
    let location = std::ffi::CString::new(location).map_err(|_| ffmpeg_next::Error::InvalidData)?;
    let format = std::ffi::CString::new(format).map_err(|_| ffmpeg_next::Error::InvalidData)?;
    init_ffmpeg();
    // SAFETY: both C strings outlive the calls; the context FFmpeg allocates is freed here on
    // failure and otherwise owned by `Output::wrap`, which closes its I/O when dropped.
    unsafe {
        let mut context = std::ptr::null_mut();
        let allocated = ffmpeg_next::ffi::avformat_alloc_output_context2(
            &mut context,
            std::ptr::null_mut(),
            format.as_ptr(),
            location.as_ptr(),
        );
        if allocated < 0 {
            return Err(ffmpeg_next::Error::from(allocated));
        }
        let opened = ffmpeg_next::ffi::avio_open(
            &mut (*context).pb,
            location.as_ptr(),
            ffmpeg_next::ffi::AVIO_FLAG_WRITE,
        );
        if opened < 0 {
            ffmpeg_next::ffi::avformat_free_context(context);
            return Err(ffmpeg_next::Error::from(opened));
        }
        Ok(ffmpeg_next::format::context::Output::wrap(context))
    }
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

/// Which network addresses a URL may reach: for requests from untrusted input, a URL that
/// names an internal service (`http://127.0.0.1:8080/admin`, a cloud metadata address, a
/// host on the private network) is server-side request forgery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Addresses {
    /// Any address; HTTP redirects are followed (up to FFmpeg's 8).
    #[default]
    Any,
    /// Only hosts whose every address is public (globally routable), plus the hosts listed
    /// (`host` or `host:port`, as the URL writes them) whatever their address. No HTTP
    /// redirect is followed: FFmpeg would connect to its target before framekit could check
    /// the address, so a server that redirects fails with a message saying so.
    PublicOnly { allowed: Arc<[String]> },
}

impl Addresses {
    /// Only public addresses, plus `allowed` hosts (`host` or `host:port`).
    pub fn public_only(allowed: &[String]) -> Addresses {
        let allowed: Vec<String> = allowed.iter().map(|h| h.to_ascii_lowercase()).collect();
        Addresses::PublicOnly {
            allowed: allowed.into(),
        }
    }

    /// Whether FFmpeg may follow HTTP redirects for this request.
    pub fn follows_redirects(&self) -> bool {
        *self == Addresses::Any
    }

    /// Why `url` may not be fetched, if it may not: its host has an internal address, or
    /// does not resolve. Every address the name resolves to is checked (FFmpeg may connect
    /// to any of them). A name that resolves differently a moment later (DNS rebinding) is
    /// beyond this check: for hard isolation, run untrusted requests where the network
    /// itself keeps internal addresses out of reach.
    pub fn refusal(&self, url: &str) -> Option<MediaErrorKind> {
        let Addresses::PublicOnly { allowed } = self else {
            return None;
        };
        // An object's requests go to the store's endpoint.
        let endpoint;
        let url = if crate::storage::is_s3_text(url) {
            endpoint = crate::storage::endpoint();
            endpoint.as_str()
        } else {
            url
        };
        let Some(target) = UrlTarget::of(url) else {
            return Some(MediaErrorKind::Network("the URL names no host".to_string()));
        };
        let host = target.host.to_ascii_lowercase();
        let host_port = format!("{host}:{}", target.port);
        if allowed.iter().any(|a| *a == host || *a == host_port) {
            return None;
        }
        let Some(addresses) = target.resolve() else {
            return Some(MediaErrorKind::Network(format!(
                "the host name {host} does not resolve"
            )));
        };
        addresses
            .into_iter()
            .find(|ip| !is_public(*ip))
            .map(|address| MediaErrorKind::InternalAddress { host, address })
    }
}

/// A URL's host and port as FFmpeg's own parser (`av_url_split`) reads them, so the host
/// checked is the host FFmpeg connects to.
struct UrlTarget {
    /// Without the brackets of an IPv6 address.
    host: String,
    port: u16,
}

impl UrlTarget {
    fn of(url: &str) -> Option<UrlTarget> {
        let c_url = std::ffi::CString::new(url).ok()?;
        let mut proto = [0 as std::ffi::c_char; 16];
        let mut auth = [0 as std::ffi::c_char; 1024];
        let mut host = [0 as std::ffi::c_char; 1024];
        let mut path = [0 as std::ffi::c_char; 16];
        let mut port: std::ffi::c_int = -1;
        // SAFETY: each buffer is writable for the size given (FFmpeg truncates and
        // terminates within it); `c_url` is a valid C string for the call.
        unsafe {
            ffmpeg_next::ffi::av_url_split(
                proto.as_mut_ptr(),
                proto.len() as std::ffi::c_int,
                auth.as_mut_ptr(),
                auth.len() as std::ffi::c_int,
                host.as_mut_ptr(),
                host.len() as std::ffi::c_int,
                &mut port,
                path.as_mut_ptr(),
                path.len() as std::ffi::c_int,
                c_url.as_ptr(),
            );
        }
        let text = |buffer: &[std::ffi::c_char]| {
            // SAFETY: FFmpeg left a terminated string in the buffer (or its first byte 0).
            unsafe { std::ffi::CStr::from_ptr(buffer.as_ptr()) }
                .to_string_lossy()
                .into_owned()
        };
        let (proto, host) = (text(&proto).to_ascii_lowercase(), text(&host));
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return None;
        }
        let port = match u16::try_from(port) {
            Ok(port) => port,
            Err(_) if proto == "https" => 443,
            Err(_) => 80,
        };
        Some(UrlTarget { host, port })
    }

    /// The addresses the host resolves to (the system resolver, as FFmpeg uses); `None`
    /// when it resolves to none.
    fn resolve(&self) -> Option<Vec<std::net::IpAddr>> {
        use std::net::ToSocketAddrs;
        let found: Vec<std::net::IpAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .ok()?
            .map(|a| a.ip())
            .collect();
        (!found.is_empty()).then_some(found)
    }
}

/// Whether `ip` is a public (globally routable) address: not loopback, private, link-local,
/// shared (carrier NAT), unspecified, multicast, broadcast, documentation, benchmarking or
/// reserved, nor an IPv6 address that embeds one of those.
pub fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => is_public_v4(v4),
        std::net::IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x2002 {
                // 6to4: the IPv4 address inside decides.
                let [a, b] = s[1].to_be_bytes();
                let [c, d] = s[2].to_be_bytes();
                return is_public_v4(std::net::Ipv4Addr::new(a, b, c, d));
            }
            // Global unicast is 2000::/3; inside it, documentation (2001:db8::/32) and
            // Teredo (2001::/32) are not public.
            let global_unicast = (s[0] & 0xe000) == 0x2000;
            let documentation = s[0] == 0x2001 && s[1] == 0x0db8;
            let teredo = s[0] == 0x2001 && s[1] == 0;
            global_unicast && !documentation && !teredo
        }
    }
}

fn is_public_v4(ip: std::net::Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 192 && b == 168)
        || (a == 198 && (18..20).contains(&b))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224)
}

/// What FFmpeg's "Input/output error" on opening `url` stands for: FFmpeg gives that one
/// code for a host name that does not resolve, for more redirects than it follows (a
/// redirect loop, or any redirect when redirects are off) and for a failed TLS handshake;
/// "Invalid argument" for a redirect to another protocol (`file://`). Other errors are told
/// as FFmpeg tells them.
pub fn network_open_error(url: &str, error: ffmpeg_next::Error, follow_redirects: bool) -> String {
    // For an object, the store itself says what is wrong (no such bucket or key, refused
    // credentials, unreachable), without the presigned URL.
    if let Some(Ok(object)) = crate::storage::ObjectUrl::of(Path::new(url)) {
        return match crate::storage::diagnose_read(&object) {
            Some(reason) => storage_reason(&reason),
            None => error.to_string(),
        };
    }
    if error
        == (ffmpeg_next::Error::Other {
            errno: libc::EINVAL,
        })
    {
        // FFmpeg's http refuses to follow a redirect to another scheme this way.
        return format!(
            "{error}: the URL, or a redirect its server answered with, is not an http(s) \
             address (a redirect to file:// or another protocol is never followed)"
        );
    }
    if error != (ffmpeg_next::Error::Other { errno: libc::EIO }) {
        return error.to_string();
    }
    let Some(target) = UrlTarget::of(url) else {
        return error.to_string();
    };
    if target.resolve().is_none() {
        return format!("the host name {} does not resolve", target.host);
    }
    let redirects = if follow_redirects {
        "the server redirected more than 8 times (a redirect loop?)"
    } else {
        "the server answered with a redirect, and redirects are not followed under \
         --no-private-addresses (where one leads cannot be checked before FFmpeg connects)"
    };
    if url
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
    {
        format!("{redirects}, or the TLS handshake failed")
    } else {
        redirects.to_string()
    }
}

/// A storage error's message without the location it names (the caller's message names it).
pub fn storage_reason(error: &crate::storage::StorageError) -> String {
    let text = error.to_string();
    match text.split_once(": ") {
        Some((first, rest)) if crate::storage::is_s3_text(first) => rest.to_string(),
        _ => text,
    }
}

/// Which local files a request may open. With anything but `Any`, URLs may not reach local
/// files either (FFmpeg's `file` protocol is off, so a redirect cannot name one), and a
/// refusal reads the same whether the file exists or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LocalFiles {
    #[default]
    Any,
    /// No local file at all: URLs only.
    Refused,
    /// Only files inside these folders (canonical paths), symbolic links resolved.
    Under(Arc<[PathBuf]>),
}

impl LocalFiles {
    /// Only files under `roots` (each made canonical; a root that does not exist is an error).
    pub fn under(roots: &[PathBuf]) -> std::io::Result<LocalFiles> {
        let roots = roots
            .iter()
            .map(std::fs::canonicalize)
            .collect::<std::io::Result<Vec<PathBuf>>>()?;
        Ok(LocalFiles::Under(roots.into()))
    }

    /// Whether FFmpeg may open local files (its `file` protocol) for this request.
    pub fn any(&self) -> bool {
        *self == LocalFiles::Any
    }

    /// Why `path` (a local path, not a URL) may not be opened, if it may not.
    pub(super) fn refusal(&self, path: &Path) -> Option<MediaErrorKind> {
        match self {
            LocalFiles::Any => None,
            LocalFiles::Refused => Some(MediaErrorKind::NotAllowed(
                "local files are not allowed here (--no-local-files)",
            )),
            LocalFiles::Under(roots) => {
                let inside = |p: &Path| roots.iter().any(|root| p.starts_with(root));
                let lexical = lexically_absolute(path);
                // Both the path as written and, when it exists, where its links lead.
                let allowed = lexical.as_deref().is_some_and(inside)
                    && std::fs::canonicalize(path).map_or(true, |real| inside(&real));
                (!allowed).then_some(MediaErrorKind::NotAllowed(
                    "outside the folders this request may read (--allow-root)",
                ))
            }
        }
    }
}

/// `path` made absolute against the working folder, `.` and `..` resolved by name (no file
/// system access, so the answer says nothing about what exists).
fn lexically_absolute(path: &Path) -> Option<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// The input's size in bytes (a URL's length from the server), or -1 when unknown.
pub(crate) fn io_size(input: &ffmpeg_next::format::context::Input) -> i64 {
    // SAFETY: the context is open; `pb` is either null or FFmpeg's live I/O context.
    unsafe {
        let pb = (*input.as_ptr()).pb;
        if pb.is_null() {
            -1
        } else {
            ffmpeg_next::ffi::avio_size(pb)
        }
    }
}

/// Where the input's I/O is in the file.
pub(crate) fn io_position(input: &ffmpeg_next::format::context::Input) -> i64 {
    // SAFETY: the context is open; `pb` is either null or FFmpeg's live I/O context.
    unsafe {
        let pb = (*input.as_ptr()).pb;
        if pb.is_null() {
            0
        } else {
            // avio_tell is avio_seek(pb, 0, SEEK_CUR).
            ffmpeg_next::ffi::avio_seek(pb, 0, libc::SEEK_CUR)
        }
    }
}

/// Whether the input's I/O can seek (a local file, or a server that takes range requests).
pub(crate) fn io_seekable(input: &ffmpeg_next::format::context::Input) -> bool {
    // SAFETY: the context is open; `pb` is either null or FFmpeg's live I/O context.
    unsafe {
        let pb = (*input.as_ptr()).pb;
        !pb.is_null() && (*pb).seekable != 0
    }
}
