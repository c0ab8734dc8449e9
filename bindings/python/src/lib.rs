//! The `framekit` Python module: the library in-process, for the people who called the
//! original `getFrames` helper from Python and PySpark. It owns only the conversion between
//! framekit's types and Python's (text, numpy arrays, dicts, exceptions); every rule (the id
//! syntax, get_frames, the tolerant paste parser, limits, frame-exact access) is the
//! library's, so answers are byte-identical to `framekit frames`.
//!
//! Decoding runs with the GIL released; a `VideoReader` belongs to the thread that made it
//! (one reader per thread, like the CLI's one decoder per request).

use std::path::PathBuf;

use framekit_core::codec::{self, DecodeLimits, GetFramesError, PasteError};
use framekit_core::frame::{DeepFrame, Frame};
use framekit_core::media::{MediaError, MediaErrorKind, MediaSource, OpenOptions};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyIndexError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PySlice};

create_exception!(
    framekit,
    MediaError_,
    PyException,
    "A file or URL framekit could not read; the message is the CLI's one line."
);
create_exception!(
    framekit,
    NotFoundError,
    MediaError_,
    "The file does not exist."
);
create_exception!(
    framekit,
    NetworkError,
    MediaError_,
    "A URL could not be fetched (refused, timed out, past its deadline)."
);
create_exception!(
    framekit,
    LimitError,
    MediaError_,
    "The input asks for more than the decode limits allow."
);
create_exception!(
    framekit,
    FrameIdsError,
    MediaError_,
    "A frame id list framekit cannot read (like \"1,,2\")."
);
create_exception!(
    framekit,
    PasteDecodeError,
    MediaError_,
    "Text that is not base64 of an image."
);

/// Lets a reader's decoder run with the GIL released. PyO3 asks closures given to `detach`
/// to be `Send` (so no Python object slips through); `detach` runs them on the calling
/// thread, and a `VideoReader` never leaves the thread that made it (`unsendable`), so the
/// FFmpeg contexts inside never cross threads.
struct SameThread<T>(T);

// SAFETY: see above: the value is only used on the thread that owns it.
unsafe impl<T> Send for SameThread<T> {}

impl<T> SameThread<T> {
    fn into_inner(self) -> T {
        self.0
    }
}

/// The Python exception for a media error, with the library's one-line message (a limit
/// says which and by how much, not a CLI flag).
fn media_error(error: &MediaError) -> PyErr {
    let message = error.to_string();
    match &error.kind {
        MediaErrorKind::NotFound => NotFoundError::new_err(message),
        MediaErrorKind::Network(_)
        | MediaErrorKind::DeadlineExceeded(_)
        | MediaErrorKind::Cancelled => NetworkError::new_err(message),
        MediaErrorKind::OverLimit(_) => LimitError::new_err(message),
        _ => MediaError_::new_err(message),
    }
}

fn get_frames_error(error: &GetFramesError) -> PyErr {
    match error {
        GetFramesError::Media(e) => media_error(e),
        GetFramesError::Ids(e) => FrameIdsError::new_err(e.to_string()),
        GetFramesError::AnswerTooLarge(e) => LimitError::new_err(e.to_string()),
        other => MediaError_::new_err(other.to_string()),
    }
}

fn paste_error(error: &PasteError) -> PyErr {
    match error {
        PasteError::TooLarge { .. } | PasteError::OverLimit { .. } => {
            LimitError::new_err(error.to_string())
        }
        _ => PasteDecodeError::new_err(error.to_string()),
    }
}

/// The frames `ids` names in `url`, as `framekit frames` prints them; raises on failure.
#[pyfunction]
fn frames(py: Python<'_>, url: PathBuf, ids: &str) -> PyResult<String> {
    py.detach(|| codec::get_frames(&url, ids))
        .map_err(|e| get_frames_error(&e))
}

/// The original helper's contract: `''` on any failure, the reason logged on the
/// `framekit` logger.
#[pyfunction]
fn get_frames(py: Python<'_>, url: PathBuf, ids: &str) -> PyResult<String> {
    match py.detach(|| codec::get_frames(&url, ids)) {
        Ok(text) => Ok(text),
        Err(error) => {
            let logging = py.import("logging")?;
            let logger = logging.call_method1("getLogger", ("framekit",))?;
            logger.call_method1("warning", ("%s", error.to_string()))?;
            Ok(String::new())
        }
    }
}

/// A frame's pixels as a numpy `HxWx3` (or `x4` with alpha) `uint8` array, channels in
/// `order` ("rgb", or "bgr" as OpenCV gives them).
fn to_array<'py>(py: Python<'py>, frame: &Frame, order: Order) -> PyResult<Bound<'py, PyAny>> {
    let channels = frame.layout.channels();
    let mut pixels = frame.pixels.clone();
    if order == Order::Bgr {
        for pixel in pixels.chunks_exact_mut(channels) {
            pixel.swap(0, 2);
        }
    }
    let numpy = py.import("numpy")?;
    let flat = numpy.call_method1("frombuffer", (PyBytes::new(py, &pixels), "uint8"))?;
    flat.call_method1(
        "reshape",
        ((frame.height as usize, frame.width as usize, channels),),
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Rgb,
    Bgr,
}

impl Order {
    fn parse(text: &str) -> PyResult<Order> {
        match text.to_ascii_lowercase().as_str() {
            "rgb" => Ok(Order::Rgb),
            "bgr" => Ok(Order::Bgr),
            other => Err(PyValueError::new_err(format!(
                "order must be \"rgb\" or \"bgr\", not \"{other}\""
            ))),
        }
    }
}

/// Base64 (or a data URI, or several joined by `|`) back to images: one numpy array, or a
/// list of them when the text holds several. `order="bgr"` gives what the original
/// `parseB64` gave (OpenCV's channel order). The app's tolerant parser and limits.
#[pyfunction]
#[pyo3(signature = (text, order = "rgb"))]
fn parse_b64<'py>(py: Python<'py>, text: &str, order: &str) -> PyResult<Bound<'py, PyAny>> {
    let order = Order::parse(order)?;
    let limits = DecodeLimits::default();
    let images = py
        .detach(|| codec::decode_base64_images(text, &limits))
        .map_err(|e| paste_error(&e))?;
    let mut arrays = Vec::with_capacity(images.len());
    for image in &images {
        let frame = image.image.first_frame().map_err(|e| media_error(&e))?;
        arrays.push(to_array(py, &frame, order)?);
    }
    if arrays.len() == 1 {
        return Ok(arrays.remove(0));
    }
    Ok(PyList::new(py, arrays)?.into_any())
}

/// Frame-exact access to one video (or image): `len(reader)`, `reader[i]` (0-based,
/// negative indexes, slices), `get_frames_at`, `get_frames_played_at`, `metadata`, `pts`.
#[pyclass(unsendable, module = "framekit")]
struct VideoReader {
    source: MediaSource,
    path: PathBuf,
    count: usize,
    order: Order,
    dtype: Dtype,
    /// The last frame (in file order) of the previous request, to tell reading forward
    /// (`reader[i]` in a loop) from requests that seek.
    previous_end: Option<usize>,
}

/// The sample type a reader hands frames out in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dtype {
    /// 8-bit, HDR tone-mapped to SDR unless `hdr="none"` (what the CLI and the app show).
    Uint8,
    /// 16-bit: the stream's own signal (PQ and HLG stay as they are), 0 to 65535.
    Uint16,
    /// The 16-bit samples as 0.0 to 1.0.
    Float32,
}

impl Dtype {
    fn parse(text: &str) -> PyResult<Dtype> {
        match text {
            "uint8" => Ok(Dtype::Uint8),
            "uint16" => Ok(Dtype::Uint16),
            "float32" => Ok(Dtype::Float32),
            other => Err(PyValueError::new_err(format!(
                "dtype must be \"uint8\", \"uint16\" or \"float32\", not \"{other}\""
            ))),
        }
    }
}

/// One decoded frame, at the depth the reader was asked for.
enum Picture {
    Eight(Frame),
    Deep(DeepFrame),
}

impl Picture {
    /// (height, width, channels).
    fn shape(&self) -> (usize, usize, usize) {
        let (height, width, layout) = match self {
            Picture::Eight(f) => (f.height, f.width, f.layout),
            Picture::Deep(f) => (f.height, f.width, f.layout),
        };
        (height as usize, width as usize, layout.channels())
    }

    /// Writes the samples as native-endian bytes of `dtype`, channels in `order`, at the
    /// start of `out` (which holds at least that much); `scratch` is working space for
    /// 16-bit frames. Returns how many bytes were written.
    fn write_to(&self, out: &mut [u8], scratch: &mut Vec<u8>, order: Order, dtype: Dtype) -> usize {
        if let Picture::Eight(frame) = self {
            let channels = self.shape().2;
            let length = frame.pixels.len().min(out.len());
            let out = &mut out[..length];
            out.copy_from_slice(&frame.pixels[..length]);
            if order == Order::Bgr {
                for pixel in out.chunks_exact_mut(channels) {
                    pixel.swap(0, 2);
                }
            }
            return length;
        }
        self.append_to(scratch, order, dtype);
        let length = scratch.len().min(out.len());
        out[..length].copy_from_slice(&scratch[..length]);
        length
    }

    /// Appends the samples as native-endian bytes of `dtype`, channels in `order`.
    fn append_to(&self, bytes: &mut Vec<u8>, order: Order, dtype: Dtype) {
        let channels = self.shape().2;
        let swap = |pixel: &[u16; 4]| -> [u16; 4] {
            if order == Order::Bgr {
                [pixel[2], pixel[1], pixel[0], pixel[3]]
            } else {
                *pixel
            }
        };
        match self {
            Picture::Eight(frame) => {
                let start = bytes.len();
                bytes.extend_from_slice(&frame.pixels);
                if order == Order::Bgr {
                    for pixel in bytes[start..].chunks_exact_mut(channels) {
                        pixel.swap(0, 2);
                    }
                }
            }
            Picture::Deep(frame) => {
                let width = if dtype == Dtype::Float32 { 4 } else { 2 };
                bytes.reserve(frame.samples.len() * width);
                for pixel in frame.samples.chunks_exact(channels) {
                    let mut padded = [0u16; 4];
                    padded[..channels].copy_from_slice(pixel);
                    for &sample in &swap(&padded)[..channels] {
                        if dtype == Dtype::Float32 {
                            let value = f32::from(sample) / 65535.0;
                            bytes.extend_from_slice(&value.to_ne_bytes());
                        } else {
                            bytes.extend_from_slice(&sample.to_ne_bytes());
                        }
                    }
                }
            }
        }
    }
}

#[pymethods]
impl VideoReader {
    /// Opens `path_or_url` reading only its header (MP4's table gives the count at once);
    /// `hdr="none"` converts HDR as tagged instead of tone-mapping it; `order="bgr"` hands
    /// frames out in OpenCV's order. `dtype="uint16"` or `"float32"` gives the stream's own
    /// signal at 16 bits (0-65535, or 0.0-1.0): 10-bit levels kept, PQ and HLG not
    /// tone-mapped (so `hdr` must be left out or `"none"`).
    #[new]
    #[pyo3(signature = (path_or_url, hdr = None, order = "rgb", dtype = "uint8"))]
    fn new(
        py: Python<'_>,
        path_or_url: PathBuf,
        hdr: Option<&str>,
        order: &str,
        dtype: &str,
    ) -> PyResult<Self> {
        let dtype = Dtype::parse(dtype)?;
        let hdr = match (hdr, dtype) {
            (None | Some("tonemap"), Dtype::Uint8) => framekit_core::media::HdrMode::Tonemap,
            (None | Some("none"), _) => framekit_core::media::HdrMode::None,
            (Some("tonemap"), _) => {
                return Err(PyValueError::new_err(
                    "tone mapping gives 8-bit SDR: use dtype=\"uint8\", or hdr=\"none\" for the \
                     stream's own signal at 16 bits",
                ));
            }
            (Some(other), _) => {
                return Err(PyValueError::new_err(format!(
                    "hdr must be \"tonemap\" or \"none\", not \"{other}\""
                )));
            }
        };
        let order = Order::parse(order)?;
        let options = OpenOptions {
            hdr,
            ..OpenOptions::default()
        };
        let path = path_or_url.clone();
        let opened = py.detach(move || {
            let opened = MediaSource::open_lazy(&path, &options).and_then(|mut source| {
                let count = source.count_up_to(usize::MAX)?;
                Ok((source, count))
            });
            SameThread(opened)
        });
        let (source, count) = opened.into_inner().map_err(|e| media_error(&e))?;
        Ok(VideoReader {
            source,
            path: path_or_url,
            count,
            order,
            dtype,
            previous_end: None,
        })
    }

    fn __len__(&self) -> usize {
        self.count
    }

    fn __repr__(&self) -> String {
        format!(
            "VideoReader({:?}, {} frames)",
            self.path.display().to_string(),
            self.count
        )
    }

    /// `reader[i]` (negative counts from the end) or `reader[a:b:c]` (a batch).
    fn __getitem__<'py>(
        &mut self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(slice) = key.cast::<PySlice>() {
            let range = slice.indices(self.count as isize)?;
            let mut indices = Vec::new();
            let mut at = range.start;
            while (range.step > 0 && at < range.stop) || (range.step < 0 && at > range.stop) {
                indices.push(at as usize);
                at += range.step;
            }
            return self.batch(py, &indices);
        }
        let index: isize = key
            .extract()
            .map_err(|_| PyTypeError::new_err("frame indexes are integers or slices"))?;
        let index = self.resolve(index)?;
        self.batch(py, &[index])?.get_item(0)
    }

    /// Frames at these 0-based indexes as one `NxHxWx3` (or `x4`) array.
    fn get_frames_at<'py>(
        &mut self,
        py: Python<'py>,
        indices: Vec<isize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let resolved = indices
            .into_iter()
            .map(|i| self.resolve(i))
            .collect::<PyResult<Vec<usize>>>()?;
        self.batch(py, &resolved)
    }

    /// The frames shown at these times (seconds from the first frame): for each, the last
    /// frame whose presentation time is at or before it.
    fn get_frames_played_at<'py>(
        &mut self,
        py: Python<'py>,
        seconds: Vec<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let times = self.times(py)?;
        let mut indices = Vec::with_capacity(seconds.len());
        for t in seconds {
            if !t.is_finite() || t < 0.0 {
                return Err(PyValueError::new_err(format!(
                    "no frame is played at {t} s"
                )));
            }
            let at = times.partition_point(|x| x.is_some_and(|x| x <= t + 1e-9));
            if at == 0 {
                return Err(PyValueError::new_err(format!(
                    "no frame is played at {t} s"
                )));
            }
            indices.push(at - 1);
        }
        self.batch(py, &indices)
    }

    /// Every frame's presentation time in seconds from the first (reads the whole index once).
    #[getter]
    fn pts(&mut self, py: Python<'_>) -> PyResult<Vec<Option<f64>>> {
        self.times(py)
    }

    /// What `framekit probe --json` says of the file, as a dict (size, rates, count,
    /// codec, colour tags and the conversion used, rotation, HDR and tone mapping).
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(self.source.info())
            .map_err(|e| MediaError_::new_err(e.to_string()))?;
        py.import("json")?.call_method1("loads", (text,))
    }
}

impl VideoReader {
    fn resolve(&self, index: isize) -> PyResult<usize> {
        let count = self.count as isize;
        let resolved = if index < 0 { index + count } else { index };
        if resolved < 0 || resolved >= count {
            return Err(PyIndexError::new_err(format!(
                "frame index {index} out of range ({} frames)",
                self.count
            )));
        }
        Ok(resolved as usize)
    }

    /// Frame `index` as 8-bit pixels or 16-bit samples, as the reader's dtype asks.
    fn decode(&mut self, py: Python<'_>, index: usize) -> PyResult<Picture> {
        let source = SameThread(&mut self.source);
        let deep = self.dtype != Dtype::Uint8;
        py.detach(move || {
            let source = source.into_inner();
            if deep {
                source.frame_deep(index).map(Picture::Deep)
            } else {
                source.frame(index).map(Picture::Eight)
            }
        })
        .map_err(|e| media_error(&e))
    }

    /// The frames at `indices` as one `NxHxWxC` array of the reader's dtype.
    fn batch<'py>(&mut self, py: Python<'py>, indices: &[usize]) -> PyResult<Bound<'py, PyAny>> {
        let numpy = py.import("numpy")?;
        let numpy_type = match self.dtype {
            Dtype::Uint8 => "uint8",
            Dtype::Uint16 => "uint16",
            Dtype::Float32 => "float32",
        };
        // Decoded in file order (frames of one GOP decode forward from one seek, and a
        // frame asked for twice decodes once), handed out in the order asked.
        let mut in_file_order: Vec<usize> = indices.to_vec();
        in_file_order.sort_unstable();
        in_file_order.dedup();
        // A request that does not continue forward from the last one (a reader's first, or
        // one that starts at or before where the last one ended) stops decoding at its last
        // frame's packet: the frames a reordering, frame-threaded decoder would otherwise
        // decode past it are never needed. A reader read forward request after request keeps
        // its decoder going, so the next request decodes on instead of seeking.
        if let (Some(&first), Some(&last)) = (in_file_order.first(), in_file_order.last()) {
            let forward = self.previous_end.is_some_and(|end| first > end);
            // `usize::MAX` is no frame: the hint is withdrawn.
            self.source
                .expect_last_frame(if forward { usize::MAX } else { last });
            self.previous_end = Some(last);
        }
        // Frames between the wanted ones that nothing references are not decoded.
        self.source.expect_frames(&in_file_order);
        let mut pictures = Vec::with_capacity(in_file_order.len());
        for &index in &in_file_order {
            pictures.push(self.decode(py, index)?);
        }
        let mut shape: Option<(usize, usize, usize)> = None;
        let mut order = Vec::with_capacity(indices.len());
        for index in indices {
            let at = in_file_order
                .binary_search(index)
                .map_err(|_| PyValueError::new_err("frame index lost while decoding"))?;
            let this = pictures[at].shape();
            if *shape.get_or_insert(this) != this {
                return Err(PyValueError::new_err(
                    "these frames differ in size; read them one at a time",
                ));
            }
            order.push(at);
        }
        let Some((height, width, channels)) = shape else {
            return numpy.call_method1("empty", ((0, 0, 0, 3), numpy_type));
        };
        // 8-bit samples are copied once, straight into the Python bytes numpy views.
        let sample_bytes = match self.dtype {
            Dtype::Uint8 => 1,
            Dtype::Uint16 => 2,
            Dtype::Float32 => 4,
        };
        let total = indices.len() * height * width * channels * sample_bytes;
        let (out_order, dtype) = (self.order, self.dtype);
        let buffer = PyBytes::new_with(py, total, |out| {
            let mut filled = 0;
            let mut bytes = Vec::new();
            for &at in &order {
                bytes.clear();
                filled += pictures[at].write_to(&mut out[filled..], &mut bytes, out_order, dtype);
            }
            Ok(())
        })?;
        let flat = numpy.call_method1("frombuffer", (buffer, numpy_type))?;
        flat.call_method1("reshape", ((indices.len(), height, width, channels),))
    }

    fn times(&mut self, py: Python<'_>) -> PyResult<Vec<Option<f64>>> {
        let source = SameThread(&mut self.source);
        py.detach(move || source.into_inner().scan_all())
            .map_err(|e| media_error(&e))?;
        Ok((0..self.count).map(|i| self.source.frame_time(i)).collect())
    }
}

/// Runs JSONL-style requests (dicts with `path`, `ids`, optional `id` and `format`) on
/// `threads` decoders at once and returns an iterator of result dicts in request order:
/// `frames`, `ids`, `error` (None when answered), as `framekit frames --jsonl` writes them.
/// The requests are read at once (as JSON text); results come as they are ready.
/// `cores` (default: the cores this process sees) is what the decoders share, as the CLI's
/// `--cores`: a Spark task passes its `spark.task.cpus`.
#[pyfunction]
#[pyo3(signature = (requests, threads = 2, cores = None))]
fn frames_batch(
    py: Python<'_>,
    requests: &Bound<'_, PyAny>,
    threads: usize,
    cores: Option<usize>,
) -> PyResult<FramesBatchResults> {
    let (parsed, options) = batch_requests(py, requests, threads, cores)?;
    let results = framekit_core::batch::frames::frames_batch(parsed.into_iter(), threads, options);
    Ok(FramesBatchResults { results })
}

/// [`frames_batch`]'s answers for requests held at once, as a list in request order: the
/// requests naming one file share a reader, and each frame any of them asks for is decoded
/// and encoded once (one seek per GOP for all of them). For many rows on few clips (a Spark
/// batch); `threads` files are read at once.
#[pyfunction]
#[pyo3(signature = (requests, threads = 2, cores = None))]
fn frames_grouped<'py>(
    py: Python<'py>,
    requests: &Bound<'py, PyAny>,
    threads: usize,
    cores: Option<usize>,
) -> PyResult<Bound<'py, PyList>> {
    let (parsed, options) = batch_requests(py, requests, threads, cores)?;
    let results =
        py.detach(move || framekit_core::batch::grouped::frames_grouped(parsed, threads, options));
    let json = py.import("json")?;
    let mut rows = Vec::with_capacity(results.len());
    for result in &results {
        let text =
            serde_json::to_string(result).map_err(|e| MediaError_::new_err(e.to_string()))?;
        rows.push(json.call_method1("loads", (text,))?);
    }
    PyList::new(py, rows)
}

type ParsedRequest = Result<
    framekit_core::batch::frames::FrameRequest,
    Box<framekit_core::batch::frames::FrameResult>,
>;

/// The request dicts read as JSONL lines are, and the decoders' options.
fn batch_requests(
    py: Python<'_>,
    requests: &Bound<'_, PyAny>,
    threads: usize,
    cores: Option<usize>,
) -> PyResult<(Vec<ParsedRequest>, OpenOptions)> {
    if !(1..=64).contains(&threads) {
        return Err(PyValueError::new_err("threads must be 1 to 64"));
    }
    if cores == Some(0) {
        return Err(PyValueError::new_err("cores must be at least 1"));
    }
    let json = py.import("json")?;
    let mut parsed = Vec::new();
    for request in requests.try_iter()? {
        let text: String = json.call_method1("dumps", (request?,))?.extract()?;
        let line = parsed.len() + 1;
        parsed.push(framekit_core::batch::frames::parse_request_line(
            &text, line,
        ));
    }
    let options = OpenOptions {
        decoder_threads: cores.map_or(0, |cores| {
            framekit_core::batch::frames::decoder_threads_for(cores, threads)
        }),
        ..OpenOptions::default()
    };
    Ok((parsed, options))
}

/// The iterator [`frames_batch`] returns.
#[pyclass(unsendable, module = "framekit")]
struct FramesBatchResults {
    results: framekit_core::batch::frames::FramesBatch,
}

#[pymethods]
impl FramesBatchResults {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let results = SameThread(&mut self.results);
        let Some(result) = py
            .detach(move || SameThread(results.into_inner().next()))
            .into_inner()
        else {
            return Ok(None);
        };
        let text =
            serde_json::to_string(&result).map_err(|e| MediaError_::new_err(e.to_string()))?;
        py.import("json")?.call_method1("loads", (text,)).map(Some)
    }
}

/// framekit in-process: `get_frames`, `frames`, `parse_b64`, `VideoReader`, `frames_batch`,
/// `frames_grouped`.
#[pymodule]
fn framekit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(get_frames, m)?)?;
    m.add_function(wrap_pyfunction!(frames, m)?)?;
    m.add_function(wrap_pyfunction!(parse_b64, m)?)?;
    m.add_function(wrap_pyfunction!(frames_batch, m)?)?;
    m.add_function(wrap_pyfunction!(frames_grouped, m)?)?;
    m.add_class::<VideoReader>()?;
    m.add_class::<FramesBatchResults>()?;
    m.add("MediaError", py.get_type::<MediaError_>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("NetworkError", py.get_type::<NetworkError>())?;
    m.add("LimitError", py.get_type::<LimitError>())?;
    m.add("FrameIdsError", py.get_type::<FrameIdsError>())?;
    m.add("PasteDecodeError", py.get_type::<PasteDecodeError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
