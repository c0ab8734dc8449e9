//! Opening a stream's decoder (threads, the pixel limit) and hardware decoding through
//! FFmpeg's hwaccel (VAAPI, VDPAU, CUDA/NVDEC): which device types
//! this FFmpeg was built with, attaching a device to a decoder before it opens (a `get_format`
//! callback that picks the hardware pixel format), and downloading each hardware frame to
//! system memory in the decoder's own software pixel format, so the rest of the reader (colour
//! conversion, `decoded()`, compare) sees the same planes as software decoding.
//!
//! Every way this can fail (no device type compiled in, no hardware config for the codec, no
//! device on the machine, the decoder declining the stream, a frame that will not download)
//! ends in software decoding with the reason kept for `probe` and the info panel
//! ([`DecoderUsed`]); a failure mid-stream is handled by the reader (`mod.rs`), which reopens
//! the decoder in software and seeks again.

use std::ffi::CStr;
use std::sync::Mutex;

use ffmpeg::ffi;
use ffmpeg::format::Pixel;
use ffmpeg_next as ffmpeg;

use super::{SessionSettings, VideoReader};
use crate::media::{MediaError, MediaErrorKind};

/// Whether a video decoder may use the machine's hardware decoder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HwDecode {
    /// Try the hardware decoders FFmpeg has for the codec; software when none works.
    Auto,
    /// Software decoding only.
    #[default]
    Off,
}

/// Which decoder produced a stream's frames, as `probe` and the info panel say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecoderUsed {
    Hardware { device: &'static str },
    Software { reason: String },
}

impl DecoderUsed {
    pub fn label(&self) -> String {
        match self {
            DecoderUsed::Hardware { device } => format!("hardware ({device})"),
            DecoderUsed::Software { reason } => format!("software ({reason})"),
        }
    }
}

/// The device types framekit tries, in this order where the codec offers several.
const WANTED: [ffi::AVHWDeviceType; 3] = [
    ffi::AVHWDeviceType::AV_HWDEVICE_TYPE_CUDA,
    ffi::AVHWDeviceType::AV_HWDEVICE_TYPE_VAAPI,
    ffi::AVHWDeviceType::AV_HWDEVICE_TYPE_VDPAU,
];

fn type_name(kind: ffi::AVHWDeviceType) -> &'static str {
    match kind {
        ffi::AVHWDeviceType::AV_HWDEVICE_TYPE_CUDA => "cuda",
        ffi::AVHWDeviceType::AV_HWDEVICE_TYPE_VAAPI => "vaapi",
        ffi::AVHWDeviceType::AV_HWDEVICE_TYPE_VDPAU => "vdpau",
        _ => "other",
    }
}

/// Every hardware device type the system's libavutil was built with (`cuda`, `vaapi`,
/// `vdpau`, `drm`, `vulkan`...), whether or not a device is present.
pub fn compiled_device_types() -> Vec<String> {
    super::super::init_ffmpeg();
    let mut out = Vec::new();
    let mut kind = ffi::AVHWDeviceType::AV_HWDEVICE_TYPE_NONE;
    loop {
        // SAFETY: av_hwdevice_iterate_types takes and returns a plain enum value; the values it
        // returns are the ones this FFmpeg's headers (the bindings) define.
        kind = unsafe { ffi::av_hwdevice_iterate_types(kind) };
        if kind == ffi::AVHWDeviceType::AV_HWDEVICE_TYPE_NONE {
            return out;
        }
        // SAFETY: returns a static C string, or null for an unknown type.
        let name = unsafe { ffi::av_hwdevice_get_type_name(kind) };
        if !name.is_null() {
            // SAFETY: non-null, NUL-terminated and static (checked above).
            out.push(
                unsafe { CStr::from_ptr(name) }
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

/// One device type framekit uses and whether a device of it opens on this machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceStatus {
    pub name: &'static str,
    pub compiled_in: bool,
    /// `None` when a device opened; else why not.
    pub unavailable: Option<String>,
}

/// For `framekit hwdec`: the device types framekit uses, and whether each opens here.
pub fn device_status() -> Vec<DeviceStatus> {
    let compiled = compiled_device_types();
    WANTED
        .iter()
        .map(|&kind| {
            let name = type_name(kind);
            let compiled_in = compiled.iter().any(|c| c == name);
            let unavailable = if compiled_in {
                device(kind).err()
            } else {
                Some("not in this FFmpeg build".to_string())
            };
            DeviceStatus {
                name,
                compiled_in,
                unavailable,
            }
        })
        .collect()
}

/// A device context FFmpeg made, kept for the process (opening one costs tens of
/// milliseconds; decoders share it through their own references).
struct Device(*mut ffi::AVBufferRef);

// SAFETY: the buffer is only read (av_buffer_ref) under DEVICES' lock, and FFmpeg's hardware
// device contexts may be shared by decoders on any thread (each takes its own reference).
unsafe impl Send for Device {}

/// Devices opened so far, and failures (a missing device does not appear later).
static DEVICES: Mutex<Vec<(ffi::AVHWDeviceType, Result<Device, String>)>> = Mutex::new(Vec::new());

/// A new reference to the process's device of `kind`, opened on first use.
fn device(kind: ffi::AVHWDeviceType) -> Result<*mut ffi::AVBufferRef, String> {
    let mut devices = DEVICES.lock().unwrap_or_else(|p| p.into_inner());
    if !devices.iter().any(|(k, _)| *k == kind) {
        let mut created: *mut ffi::AVBufferRef = std::ptr::null_mut();
        // SAFETY: `created` is a valid out-pointer; a null device name and options ask for
        // the default device; on failure FFmpeg leaves it null.
        let status = unsafe {
            ffi::av_hwdevice_ctx_create(
                &mut created,
                kind,
                std::ptr::null(),
                std::ptr::null_mut(),
                0,
            )
        };
        let opened = if status < 0 || created.is_null() {
            Err(ffmpeg::Error::from(status).to_string())
        } else {
            Ok(Device(created))
        };
        devices.push((kind, opened));
    }
    match devices.iter().find(|(k, _)| *k == kind).map(|(_, d)| d) {
        Some(Ok(Device(buffer))) => {
            // SAFETY: the buffer is a live device context owned by DEVICES (never freed).
            let reference = unsafe { ffi::av_buffer_ref(*buffer) };
            if reference.is_null() {
                Err("out of memory".to_string())
            } else {
                Ok(reference)
            }
        }
        Some(Err(reason)) => Err(reason.clone()),
        None => Err("not opened".to_string()),
    }
}

/// A decoder's hardware side: the pixel format its frames come out in and the device.
#[derive(Debug, Clone, Copy)]
pub struct HwDecoder {
    pub device: &'static str,
    hw_format: ffi::AVPixelFormat,
}

/// Attaches a hardware device to `context` (not yet opened) when the codec has a hardware
/// config for one that opens here; otherwise says why not (software decoding).
pub fn attach(context: &mut ffmpeg::codec::context::Context) -> Result<HwDecoder, String> {
    let id = context.id();
    // SAFETY: find_decoder takes a codec id and returns a static codec or null.
    let codec = unsafe { ffi::avcodec_find_decoder(id.into()) };
    if codec.is_null() {
        return Err(format!("no decoder for {}", id.name()));
    }
    let mut offered = Vec::new();
    let mut failures = Vec::new();
    for index in 0.. {
        // SAFETY: codec is a valid static codec; past the last config FFmpeg returns null.
        let config = unsafe { ffi::avcodec_get_hw_config(codec, index) };
        if config.is_null() {
            break;
        }
        // SAFETY: non-null configs point at the codec's static tables.
        let config = unsafe { &*config };
        let by_device = config.methods & ffi::AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX as i32 != 0;
        if !by_device || !WANTED.contains(&config.device_type) {
            continue;
        }
        let name = type_name(config.device_type);
        offered.push(name);
        match device(config.device_type) {
            Ok(reference) => {
                // SAFETY: the context is not yet opened; it takes ownership of the reference
                // (avcodec_free_context unrefs it); opaque is ours (ffmpeg-next leaves it
                // alone) and holds the wanted format as an integer, read by `pick_format`.
                unsafe {
                    let raw = context.as_mut_ptr();
                    (*raw).hw_device_ctx = reference;
                    (*raw).opaque = config.pix_fmt as i32 as isize as *mut libc::c_void;
                    (*raw).get_format = Some(pick_format);
                }
                return Ok(HwDecoder {
                    device: name,
                    hw_format: config.pix_fmt,
                });
            }
            Err(reason) => failures.push(format!("{name}: {reason}")),
        }
    }
    if offered.is_empty() {
        Err(format!(
            "no hardware decoder for {} in this FFmpeg",
            id.name()
        ))
    } else {
        Err(format!("no hardware device: {}", failures.join("; ")))
    }
}

/// The decoder's `get_format`: the hardware format when offered (FFmpeg offers it only when
/// its hwaccel can decode this stream), else the first software format (software decoding).
unsafe extern "C" fn pick_format(
    context: *mut ffi::AVCodecContext,
    formats: *const ffi::AVPixelFormat,
) -> ffi::AVPixelFormat {
    // SAFETY: FFmpeg calls this with its live context and a list ending in AV_PIX_FMT_NONE.
    unsafe {
        let wanted = (*context).opaque as isize as i32;
        let mut software = ffi::AVPixelFormat::AV_PIX_FMT_NONE;
        let mut at = formats;
        while *at != ffi::AVPixelFormat::AV_PIX_FMT_NONE {
            if *at as i32 == wanted {
                return *at;
            }
            let desc = ffi::av_pix_fmt_desc_get(*at);
            let hwaccel =
                !desc.is_null() && (*desc).flags & ffi::AV_PIX_FMT_FLAG_HWACCEL as u64 != 0;
            if !hwaccel && software == ffi::AVPixelFormat::AV_PIX_FMT_NONE {
                software = *at;
            }
            at = at.add(1);
        }
        software
    }
}

/// What [`HwDecoder::download`] made of a decoded frame.
pub enum Downloaded {
    /// A frame in system memory, in the decoder's software format.
    Frame(ffmpeg::frame::Video),
    /// The decoder decoded this stream in software (its hwaccel declined it).
    Software(ffmpeg::frame::Video),
}

impl HwDecoder {
    /// `frame` in system memory: downloaded from the device and laid out in `software` (the
    /// format software decoding gives, `AVCodecContext::sw_pix_fmt`), or as it came when the
    /// decoder did not use the hardware for it.
    pub fn download(
        &self,
        frame: ffmpeg::frame::Video,
        software: Pixel,
    ) -> Result<Downloaded, String> {
        // SAFETY: a decoded frame; format is a plain field.
        let format = unsafe { (*frame.as_ptr()).format };
        if format != self.hw_format as i32 {
            return Ok(Downloaded::Software(frame));
        }
        let mut system = ffmpeg::frame::Video::empty();
        // SAFETY: both frames are valid; `system` is empty, so FFmpeg allocates it in the
        // device frames' software format; copy_props copies timestamps, colour tags and side
        // data, which the reader's frame checks and colour conversion read.
        let status = unsafe {
            let status = ffi::av_hwframe_transfer_data(system.as_mut_ptr(), frame.as_ptr(), 0);
            if status >= 0 {
                ffi::av_frame_copy_props(system.as_mut_ptr(), frame.as_ptr())
            } else {
                status
            }
        };
        if status < 0 {
            return Err(format!(
                "downloading a frame failed: {}",
                ffmpeg::Error::from(status)
            ));
        }
        relayout(system, software).map(Downloaded::Frame)
    }
}

/// The downloaded frame in the software decoder's layout: hardware decoders hand out
/// semi-planar NV12/P010/P016 where software decoding gives planar YUV 4:2:0. The samples are
/// the same (the codecs are bit-exact); only where they sit differs, so this moves them
/// without arithmetic (P010 keeps its 10 bits in the high bits of each 16-bit word).
fn relayout(frame: ffmpeg::frame::Video, software: Pixel) -> Result<ffmpeg::frame::Video, String> {
    let from = frame.format();
    if from == software {
        return Ok(frame);
    }
    let shift = match (from, software) {
        (Pixel::NV12, Pixel::YUV420P) => None,
        (Pixel::P010LE, Pixel::YUV420P10LE) => Some(6),
        (Pixel::P016LE, Pixel::YUV420P16LE) => Some(0),
        _ => {
            return Err(format!(
                "the hardware hands out {from:?}, software decoding {software:?}"
            ));
        }
    };
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let mut out = ffmpeg::frame::Video::new(software, frame.width(), frame.height());
    // SAFETY: both frames are valid; copy_props copies metadata only.
    unsafe {
        ffi::av_frame_copy_props(out.as_mut_ptr(), frame.as_ptr());
    }
    let (chroma_w, chroma_h) = (width.div_ceil(2), height.div_ceil(2));
    match shift {
        None => {
            for y in 0..height {
                let row = &frame.data(0)[y * frame.stride(0)..][..width];
                let stride = out.stride(0);
                out.data_mut(0)[y * stride..][..width].copy_from_slice(row);
            }
            for y in 0..chroma_h {
                let row = &frame.data(1)[y * frame.stride(1)..][..chroma_w * 2];
                for plane in 0..2 {
                    let stride = out.stride(1 + plane);
                    let dst = &mut out.data_mut(1 + plane)[y * stride..][..chroma_w];
                    for (x, d) in dst.iter_mut().enumerate() {
                        *d = row[x * 2 + plane];
                    }
                }
            }
        }
        Some(shift) => {
            let word = |row: &[u8], i: usize| u16::from_le_bytes([row[i * 2], row[i * 2 + 1]]);
            for y in 0..height {
                let row = &frame.data(0)[y * frame.stride(0)..][..width * 2];
                let stride = out.stride(0);
                let dst = &mut out.data_mut(0)[y * stride..][..width * 2];
                for x in 0..width {
                    dst[x * 2..x * 2 + 2].copy_from_slice(&(word(row, x) >> shift).to_le_bytes());
                }
            }
            for y in 0..chroma_h {
                let row = &frame.data(1)[y * frame.stride(1)..][..chroma_w * 4];
                for plane in 0..2 {
                    let stride = out.stride(1 + plane);
                    let dst = &mut out.data_mut(1 + plane)[y * stride..][..chroma_w * 2];
                    for x in 0..chroma_w {
                        let value = word(row, x * 2 + plane) >> shift;
                        dst[x * 2..x * 2 + 2].copy_from_slice(&value.to_le_bytes());
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Decoder threads when the caller leaves it to framekit: one per core this process may use
/// (`available_parallelism` counts CPU quotas as well as affinity; FFmpeg's own count sees
/// only the affinity) plus one, as FFmpeg's automatic count does, at most its maximum of 16.
fn auto_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores > 1 { (cores + 1).min(16) } else { 1 }
}

/// Opens the stream's decoder: on a hardware device when asked and one works, else in
/// software; says which.
pub(super) fn open_decoder(
    stream: &ffmpeg::Stream<'_>,
    settings: &SessionSettings,
) -> Result<(ffmpeg::decoder::Video, Option<HwDecoder>, DecoderUsed), MediaErrorKind> {
    let context = || -> Result<ffmpeg::codec::context::Context, MediaErrorKind> {
        let mut context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| MediaErrorKind::Decode(e.to_string()))?;
        let count = match settings.decoder_threads {
            0 => auto_threads(),
            n => n,
        };
        context.set_threading(ffmpeg::codec::threading::Config {
            kind: ffmpeg::codec::threading::Type::Frame,
            count,
            ..Default::default()
        });
        // Frame threading where the codec has it (H.264, HEVC, VP9, AV1...), else slice
        // threading (MPEG-2, DNxHD...): FFmpeg uses one of them, never both.
        // SAFETY: the context is not yet opened; thread_type is a plain bit field it reads then.
        unsafe {
            (*context.as_mut_ptr()).thread_type = ffi::FF_THREAD_FRAME | ffi::FF_THREAD_SLICE;
        }
        // Frames larger than the pixel limit are refused by the decoder itself, whatever the
        // stream's parameters claimed (a PNG frame inside Matroska can say anything).
        // SAFETY: the context is freshly made and not yet opened; max_pixels is a plain field.
        unsafe {
            (*context.as_mut_ptr()).max_pixels = settings.max_pixels.min(i64::MAX as u64) as i64;
        }
        Ok(context)
    };
    let open = |context: ffmpeg::codec::context::Context| {
        context.decoder().video().map_err(|e| {
            MediaErrorKind::Decode(format!(
                "no decoder for {}: {e}",
                stream.parameters().id().name()
            ))
        })
    };
    let reason = match settings.hwdec {
        HwDecode::Off => "hardware decoding off".to_string(),
        HwDecode::Auto => {
            let mut hw_context = context()?;
            match attach(&mut hw_context) {
                Ok(hw) => match open(hw_context) {
                    Ok(decoder) => {
                        let used = DecoderUsed::Hardware { device: hw.device };
                        return Ok((decoder, Some(hw), used));
                    }
                    Err(e) => format!("the {} decoder did not open: {e}", hw.device),
                },
                Err(reason) => reason,
            }
        }
    };
    let decoder = open(context()?)?;
    Ok((decoder, None, DecoderUsed::Software { reason }))
}

impl VideoReader {
    /// Which decoder runs: "hardware (vaapi)", or "software (why)".
    pub fn decoder_used(&self) -> String {
        self.session.used.label()
    }

    /// Records that the decoder now decodes in software, and why.
    pub(super) fn note_software(&mut self, reason: String) {
        self.session.hw = None;
        self.session.used = DecoderUsed::Software { reason };
        let label = self.session.used.label();
        if let Some(video) = self.shared.info.video.as_mut() {
            video.decoder = label;
        }
    }

    /// Replaces a hardware decoder that failed with a software one; the next request seeks
    /// to its keyframe again, so frames stay exact.
    pub(crate) fn fall_back_to_software(&mut self, reason: String) -> Result<(), MediaError> {
        let device = self.session.hw.map_or("hardware", |hw| hw.device);
        self.shared.settings.hwdec = HwDecode::Off;
        let stream = self
            .session
            .input
            .stream(self.shared.stream_index)
            .ok_or_else(|| self.error(MediaErrorKind::NoFrames))?;
        let (decoder, _, _) =
            open_decoder(&stream, &self.shared.settings).map_err(|kind| self.error(kind))?;
        self.session.decoder = decoder;
        self.note_software(format!("{device} failed mid-stream: {reason}"));
        self.reset_decoder();
        Ok(())
    }

    /// Notes why the hardware failed, for [`VideoReader::decoded`] to fall back, and the error
    /// this request gives if it cannot.
    pub(super) fn hardware_failed(&mut self, reason: String) -> MediaError {
        let error = self.error(MediaErrorKind::Decode(format!(
            "hardware decoding failed: {reason}"
        )));
        self.session.hw_failure = Some(reason);
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NV12 and P010 frames become the planar frames software decoding gives, sample for sample.
    #[test]
    fn relayout_moves_samples_without_changing_them() {
        ffmpeg::init().expect("ffmpeg");
        let (w, h) = (6u32, 4u32);
        let mut nv12 = ffmpeg::frame::Video::new(Pixel::NV12, w, h);
        for y in 0..h as usize {
            let stride = nv12.stride(0);
            for x in 0..w as usize {
                nv12.data_mut(0)[y * stride + x] = (y * 10 + x) as u8;
            }
        }
        for y in 0..2usize {
            let stride = nv12.stride(1);
            for x in 0..3usize {
                nv12.data_mut(1)[y * stride + x * 2] = (100 + y * 10 + x) as u8;
                nv12.data_mut(1)[y * stride + x * 2 + 1] = (200 + y * 10 + x) as u8;
            }
        }
        let planar = relayout(nv12, Pixel::YUV420P).expect("relayout");
        assert_eq!(planar.format(), Pixel::YUV420P);
        assert_eq!(planar.data(0)[planar.stride(0) * 3 + 5], 35);
        assert_eq!(planar.data(1)[planar.stride(1) + 2], 112);
        assert_eq!(planar.data(2)[planar.stride(2) + 2], 212);

        let mut p010 = ffmpeg::frame::Video::new(Pixel::P010LE, w, h);
        let stride = p010.stride(0);
        p010.data_mut(0)[stride + 2..stride + 4].copy_from_slice(&(1023u16 << 6).to_le_bytes());
        let stride = p010.stride(1);
        p010.data_mut(1)[stride + 4..stride + 6].copy_from_slice(&(512u16 << 6).to_le_bytes());
        p010.data_mut(1)[stride + 6..stride + 8].copy_from_slice(&(64u16 << 6).to_le_bytes());
        let planar = relayout(p010, Pixel::YUV420P10LE).expect("relayout");
        let at = |plane: usize, row: usize, x: usize| {
            let i = row * planar.stride(plane) + x * 2;
            u16::from_le_bytes([planar.data(plane)[i], planar.data(plane)[i + 1]])
        };
        assert_eq!(at(0, 1, 1), 1023);
        assert_eq!(at(1, 1, 1), 512);
        assert_eq!(at(2, 1, 1), 64);

        let other = ffmpeg::frame::Video::new(Pixel::NV12, w, h);
        assert!(relayout(other, Pixel::YUV444P).is_err());
    }

    /// A decoder replaced mid-stream (what a hardware failure does) is reopened in software,
    /// says so, and the frames after it are the ones a fresh reader decodes.
    #[test]
    fn falling_back_mid_stream_keeps_frames_exact() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample.mp4");
        let options = crate::media::OpenOptions::default();
        let mut fresh = VideoReader::open(&path, &options).expect("open");
        let mut reader = VideoReader::open(&path, &options).expect("open");
        let wanted = [0, 1, 2, 3, 7, 40, 41, 12];
        for (step, &index) in wanted.iter().enumerate() {
            if step == 3 {
                reader
                    .fall_back_to_software("simulated".to_string())
                    .expect("fall back");
                assert_eq!(
                    reader.decoder_used(),
                    "software (hardware failed mid-stream: simulated)"
                );
                assert_eq!(
                    reader.info().video.as_ref().map(|v| v.decoder.as_str()),
                    Some("software (hardware failed mid-stream: simulated)")
                );
            }
            let got = reader.frame(index).expect("frame");
            let expected = fresh.frame(index).expect("frame");
            assert_eq!(got.pixels, expected.pixels, "frame {index}");
        }
    }

    /// The listing names each device type framekit uses, once.
    #[test]
    fn device_status_lists_the_wanted_types() {
        let status = device_status();
        let names: Vec<_> = status.iter().map(|d| d.name).collect();
        assert_eq!(names, ["cuda", "vaapi", "vdpau"]);
        for device in status {
            assert!(device.compiled_in || device.unavailable.is_some());
        }
    }
}
