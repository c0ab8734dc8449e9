//! Test fixtures: small clips with known content, made once per build with the `ffmpeg`
//! command line (a test-only tool; the product itself never runs it) and cached in
//! `CARGO_TARGET_TMPDIR/fixtures`. Also an independent sequential decoder to compare against.
#![allow(dead_code)]

pub mod capped;
pub mod http;
pub mod pg;
pub mod s3;
pub mod worker;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use ffmpeg_next as ffmpeg;
use framekit::Frame;
use framekit::media::color::{Converter, Orientation};

static GENERATION: Mutex<()> = Mutex::new(());

pub fn fixtures_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixtures");
    std::fs::create_dir_all(&dir).expect("create fixtures dir");
    dir
}

/// Runs `ffmpeg -v error -y <args> <out>` unless `name` already exists; returns its path.
pub fn fixture(name: &str, args: &[&str]) -> PathBuf {
    let path = fixtures_dir().join(name);
    let _guard = GENERATION.lock().unwrap_or_else(|e| e.into_inner());
    if path.exists() {
        return path;
    }
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("bin");
    let temp = fixtures_dir().join(format!("partial-{}-{name}.{ext}", std::process::id()));
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(&temp)
        .output()
        .expect("run ffmpeg (scripts/install-deps.sh installs it)");
    assert!(
        output.status.success(),
        "ffmpeg failed for {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::rename(&temp, &path).expect("move fixture into place");
    path
}

/// A moving test pattern (every frame differs), 132 frames at 30 fps.
pub const PATTERN: &str = "testsrc2=size=176x144:rate=30:duration=4.4";

pub fn h264_mp4() -> PathBuf {
    fixture(
        "h264_bframes.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            PATTERN,
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=4.4",
            "-c:v",
            "libx264",
            "-bf",
            "3",
            "-g",
            "24",
            "-keyint_min",
            "24",
            "-sc_threshold",
            "0",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
    )
}

pub fn h264_mkv() -> PathBuf {
    fixture(
        "h264_bframes.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            PATTERN,
            "-c:v",
            "libx264",
            "-bf",
            "3",
            "-b_strategy",
            "2",
            "-g",
            "30",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

pub fn hevc_open_gop() -> PathBuf {
    fixture(
        "hevc_open_gop.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            PATTERN,
            "-c:v",
            "libx265",
            "-pix_fmt",
            "yuv420p",
            "-x265-params",
            "keyint=24:min-keyint=24:open-gop=1:bframes=4:scenecut=0:log-level=error",
        ],
    )
}

pub fn vp9_webm() -> PathBuf {
    fixture(
        "vp9.webm",
        &[
            "-f",
            "lavfi",
            "-i",
            PATTERN,
            "-c:v",
            "libvpx-vp9",
            "-g",
            "30",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-b:v",
            "300k",
        ],
    )
}

pub fn mpeg4_avi_mp3() -> PathBuf {
    fixture(
        "mpeg4_mp3.avi",
        &[
            "-f",
            "lavfi",
            "-i",
            PATTERN,
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=4.4",
            "-c:v",
            "mpeg4",
            "-q:v",
            "5",
            "-g",
            "24",
            "-c:a",
            "libmp3lame",
            "-shortest",
        ],
    )
}

/// Xvid-style MPEG-4 Part 2 with two B-frames in AVI, MP3 audio: AVI gives these packets no
/// presentation timestamps, so frames cannot be told apart by time.
pub fn xvid_bframes_avi() -> PathBuf {
    fixture(
        "xvid_bframes.avi",
        &[
            "-f",
            "lavfi",
            "-i",
            PATTERN,
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=4.4",
            "-c:v",
            "mpeg4",
            "-vtag",
            "XVID",
            "-bf",
            "2",
            "-q:v",
            "5",
            "-g",
            "24",
            "-c:a",
            "libmp3lame",
            "-shortest",
        ],
    )
}

/// DivX-style packed B-frames in AVI: each reference VOP and the B-VOP after it share one
/// packet and the B-frame's slot holds a tiny N-VOP placeholder, marked "packed" by DivX user
/// data. Made from an unpacked MPEG-4 stream by repacking its packets (the inverse of
/// FFmpeg's `mpeg4_unpack_bframes`); decodes to the same pictures as the unpacked source.
pub fn divx_packed_avi() -> PathBuf {
    let unpacked = fixture(
        "divx_unpacked_bf1.avi",
        &[
            "-f", "lavfi", "-i", PATTERN, "-c:v", "mpeg4", "-vtag", "DX50", "-bf", "1", "-q:v",
            "5", "-g", "24",
        ],
    );
    let path = fixtures_dir().join("divx_packed.avi");
    let _guard = GENERATION.lock().unwrap_or_else(|e| e.into_inner());
    if path.exists() {
        return path;
    }
    let temp = fixtures_dir().join(format!("partial-{}-divx_packed.avi", std::process::id()));
    framekit::media::init_ffmpeg();
    let mut input = ffmpeg::format::input(&unpacked).expect("open unpacked");
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .expect("video");
    let (index, time_base, parameters) = (stream.index(), stream.time_base(), stream.parameters());
    let packets: Vec<ffmpeg::Packet> = input
        .packets()
        .filter(|(s, _)| s.index() == index)
        .map(|(_, p)| p)
        .collect();
    let mut output = ffmpeg::format::output(&temp).expect("open output");
    let mut out_stream = output
        .add_stream(ffmpeg::encoder::find(ffmpeg::codec::Id::None))
        .expect("stream");
    out_stream.set_parameters(parameters);
    out_stream.set_time_base(time_base);
    output.write_header().expect("header");
    let out_time_base = output.stream(0).expect("stream").time_base();
    // A B-VOP has coding type 2 in the two bits after its start code.
    let vop_type = |data: &[u8]| {
        data.windows(5)
            .find(|w| w[..4] == [0, 0, 1, 0xB6])
            .map(|w| w[4] >> 6)
    };
    let divx_marker: &[u8] = b"\x00\x00\x01\xB2DivX503b1393p\x00";
    let n_vop: &[u8] = &[0x00, 0x00, 0x01, 0xB6, 0x50, 0x00, 0x7F];
    let mut slot = 0i64;
    let mut write = |data: Vec<u8>, key: bool, output: &mut ffmpeg::format::context::Output| {
        let mut packet = ffmpeg::Packet::copy(&data);
        packet.set_stream(0);
        packet.set_dts(Some(slot));
        packet.set_pts(None);
        packet.rescale_ts(time_base, out_time_base);
        if key {
            packet.set_flags(ffmpeg::packet::Flags::KEY);
        }
        packet.write_interleaved(output).expect("write packet");
        slot += 1;
    };
    let mut i = 0;
    while i < packets.len() {
        let data = packets[i].data().unwrap_or(&[]).to_vec();
        let key = packets[i].is_key();
        let next_is_b = packets.get(i + 1).and_then(|p| p.data()).and_then(vop_type) == Some(2);
        let mut chunk = if i == 0 {
            divx_marker.to_vec()
        } else {
            Vec::new()
        };
        chunk.extend_from_slice(&data);
        if next_is_b && vop_type(&data) != Some(2) {
            chunk.extend_from_slice(packets[i + 1].data().unwrap_or(&[]));
            write(chunk, key, &mut output);
            write(n_vop.to_vec(), false, &mut output);
            i += 2;
        } else {
            write(chunk, key, &mut output);
            i += 1;
        }
    }
    output.write_trailer().expect("trailer");
    std::fs::rename(&temp, &path).expect("move fixture into place");
    path
}

/// MJPEG (intra-only: a decoder outputs frames in the order it reads them) in Matroska with
/// presentation timestamps out of order, 132 frames: `shuffled` repeats the pattern
/// 0,40,80,120,160,20,60,100,140,180 ms per block of ten, otherwise they run backwards.
/// Frame N is still the Nth frame a sequential decode outputs.
pub fn mjpeg_out_of_order(shuffled: bool) -> PathBuf {
    let name = if shuffled {
        "mjpeg_shuffled_pts.mkv"
    } else {
        "mjpeg_reversed_pts.mkv"
    };
    let source = mjpeg();
    let path = fixtures_dir().join(name);
    let _guard = GENERATION.lock().unwrap_or_else(|e| e.into_inner());
    if path.exists() {
        return path;
    }
    let temp = fixtures_dir().join(format!("partial-{}-{name}", std::process::id()));
    framekit::media::init_ffmpeg();
    let mut input = ffmpeg::format::input(&source).expect("open mjpeg");
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .expect("video");
    let (index, parameters) = (stream.index(), stream.parameters());
    let packets: Vec<ffmpeg::Packet> = input
        .packets()
        .filter(|(s, _)| s.index() == index)
        .map(|(_, p)| p)
        .collect();
    let count = packets.len() as i64;
    let mut output = ffmpeg::format::output_as(&temp, "matroska").expect("open output");
    let mut out_stream = output
        .add_stream(ffmpeg::encoder::find(ffmpeg::codec::Id::None))
        .expect("stream");
    out_stream.set_parameters(parameters);
    let millis = ffmpeg::Rational::new(1, 1000);
    out_stream.set_time_base(millis);
    output.write_header().expect("header");
    let out_time_base = output.stream(0).expect("stream").time_base();
    const PATTERN_MS: [i64; 10] = [0, 40, 80, 120, 160, 20, 60, 100, 140, 180];
    for (i, source_packet) in packets.iter().enumerate() {
        let i = i as i64;
        let pts = if shuffled {
            (i / 10) * 200 + PATTERN_MS[(i % 10) as usize]
        } else {
            (count - 1 - i) * 40
        };
        let mut packet = ffmpeg::Packet::copy(source_packet.data().unwrap_or(&[]));
        packet.set_stream(0);
        packet.set_pts(Some(pts));
        // Increasing and below every pts: Matroska keeps only the pts.
        packet.set_dts(Some(i - count * 40));
        packet.set_duration(20);
        packet.set_flags(ffmpeg::packet::Flags::KEY);
        packet.rescale_ts(millis, out_time_base);
        packet.write(&mut output).expect("write packet");
    }
    output.write_trailer().expect("trailer");
    std::fs::rename(&temp, &path).expect("move fixture into place");
    path
}

/// A 0.2-second 64x48 H.264 clip (5 frames): a job that encodes in no time.
pub fn tiny_clip() -> PathBuf {
    fixture(
        "tiny.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x48:rate=25:duration=0.2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

pub fn mjpeg() -> PathBuf {
    fixture(
        "mjpeg.avi",
        &["-f", "lavfi", "-i", PATTERN, "-c:v", "mjpeg", "-q:v", "5"],
    )
}

pub fn vfr_mp4() -> PathBuf {
    fixture(
        "vfr.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            PATTERN,
            "-vf",
            "setpts='(N+N*N/200)/30/TB'",
            "-fps_mode",
            "vfr",
            "-c:v",
            "libx264",
            "-bf",
            "2",
            "-g",
            "24",
            "-video_track_timescale",
            "90000",
        ],
    )
}

pub fn h264_10bit() -> PathBuf {
    fixture(
        "h264_10bit.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            PATTERN,
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p10le",
            "-bf",
            "2",
            "-g",
            "24",
        ],
    )
}

/// A 10-bit HDR clip tagged with BT.2020 primaries and matrix and the given transfer.
pub fn hdr_clip(name: &str, source: &str, codec_args: &[&str], transfer: &str) -> PathBuf {
    let mut args = vec!["-f", "lavfi", "-i", source];
    args.extend_from_slice(codec_args);
    args.extend_from_slice(&[
        "-pix_fmt",
        "yuv420p10le",
        "-color_primaries",
        "bt2020",
        "-color_trc",
        transfer,
        "-colorspace",
        "bt2020nc",
    ]);
    fixture(name, &args)
}

/// A 1280x720 clip of one colour (0x2050C0), 90 frames, untagged: the height rule reads it as BT.709,
/// and BT.601 would give other RGB.
pub fn solid_720p_untagged() -> PathBuf {
    fixture(
        "solid_720p_untagged_3s.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=0x2050C0:s=1280x720:r=30:d=3",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-qp",
            "0",
        ],
    )
}

/// Output arguments tagging a stream BT.709 (matrix, primaries, transfer), limited range.
pub const BT709_LIMITED: &[&str] = &[
    "-colorspace",
    "bt709",
    "-color_primaries",
    "bt709",
    "-color_trc",
    "bt709",
    "-color_range",
    "tv",
];

/// A 64x64 patch of one colour, converted to YUV 4:4:4 with the BT.709 matrix (limited
/// range), losslessly coded.
pub fn colour_patch([r, g, b]: [u8; 3]) -> std::path::PathBuf {
    let source = format!("color=c=0x{r:02X}{g:02X}{b:02X}:s=64x64:r=25:d=0.2");
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        &source,
        "-vf",
        "scale=out_color_matrix=bt709:out_range=tv:flags=accurate_rnd+full_chroma_int,\
         format=yuv444p",
        "-c:v",
        "libx264",
        "-qp",
        "0",
    ];
    args.extend_from_slice(BT709_LIMITED);
    fixture(&format!("scope_patch_{r:02x}{g:02x}{b:02x}.mkv"), &args)
}

/// 10-bit PQ HDR (SMPTE 2084), SMPTE HD bars, no light-level metadata: tone-mapped with the
/// 1000-nit default peak.
pub fn pq_x264() -> PathBuf {
    hdr_clip(
        "hdr_bars_pq.mp4",
        "smptehdbars=size=320x180:rate=25:duration=0.4",
        &["-c:v", "libx264"],
        "smpte2084",
    )
}

/// 10-bit HLG HDR (ARIB STD-B67), a moving pattern.
pub fn hlg_x264() -> PathBuf {
    hdr_clip(
        "hdr_pattern_hlg.mp4",
        "testsrc2=size=256x144:rate=25:duration=0.4",
        &["-c:v", "libx264"],
        "arib-std-b67",
    )
}

/// Runs `command`, failing the test with its stderr unless it exits 0.
pub fn succeed(command: &mut Command) -> std::process::Output {
    let out = command.output().expect("run the command");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// H.264 cut with `-ss 1.1 -c copy`: the MP4 edit list starts mid-GOP, so the packets from
/// the keyframe up to the cut are decoded but marked "discard" and never shown.
pub fn edit_list_mp4() -> PathBuf {
    let source = fixture(
        "edit_source.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=176x144:rate=30:duration=6",
            "-c:v",
            "libx264",
            "-bf",
            "3",
            "-g",
            "48",
        ],
    );
    let source = source.to_string_lossy().into_owned();
    fixture(
        "edit_list.mp4",
        &["-ss", "1.1", "-i", &source, "-c", "copy"],
    )
}

/// 64x32: left half red, right half blue, with a display matrix (`rotate=90` metadata).
pub fn rotated_mp4() -> PathBuf {
    let plain = fixture(
        "rotation_source.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=32x32:r=25:d=0.4[l];color=c=blue:s=32x32:r=25:d=0.4[r];[l][r]hstack",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv444p",
            "-qp",
            "0",
        ],
    );
    let plain = plain.to_string_lossy().into_owned();
    fixture(
        "rotated.mp4",
        &["-i", &plain, "-c", "copy", "-metadata:s:v:0", "rotate=90"],
    )
}

/// What the ffmpeg command line shows for frame 1 of `path` (it autorotates), as RGB24 PNG.
pub fn ffmpeg_first_frame_png(path: &Path, name: &str) -> PathBuf {
    let input = path.to_string_lossy().into_owned();
    fixture(name, &["-i", &input, "-frames:v", "1", "-pix_fmt", "rgb24"])
}

/// Decodes every frame of `path` in order with plain FFmpeg calls (no seeking, no index) and
/// converts each with framekit's converter. The reference the random-access reader must match.
pub fn sequential_frames(path: &Path, orientation: Orientation) -> Vec<Frame> {
    framekit::media::init_ffmpeg();
    let mut input = ffmpeg::format::input(&path).expect("open input");
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .expect("video stream");
    let stream_index = stream.index();
    let context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .expect("codec context");
    let mut decoder = context.decoder().video().expect("video decoder");
    let (space, range) = (decoder.color_space(), decoder.color_range());
    let mut converter = Converter::default();
    let mut frames = Vec::new();
    let mut receive = |decoder: &mut ffmpeg::decoder::Video, frames: &mut Vec<Frame>| {
        let mut decoded = ffmpeg::frame::Video::empty();
        while decoder.receive_frame(&mut decoded).is_ok() {
            let (frame, _) = converter
                .convert(&decoded, frames.len(), None, space, range)
                .expect("convert");
            frames.push(orientation.apply(frame));
        }
    };
    for (stream, packet) in input.packets() {
        if stream.index() == stream_index {
            decoder.send_packet(&packet).expect("send packet");
            receive(&mut decoder, &mut frames);
        }
    }
    decoder.send_eof().expect("send eof");
    receive(&mut decoder, &mut frames);
    frames
}

/// FNV-1a over a frame's size and pixels.
pub fn frame_hash(frame: &Frame) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let size = [frame.width.to_le_bytes(), frame.height.to_le_bytes()].concat();
    for byte in size.iter().chain(frame.pixels.iter()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A deterministic shuffle (no rand dependency needed).
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed | 1;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}

/// Waits up to `limit` for the first reply of `player` that `pick` accepts; fails the test
/// after that (naming `what`).
pub fn wait_for_reply<T>(
    player: &framekit::player::Player<()>,
    what: &str,
    limit: std::time::Duration,
    mut pick: impl FnMut(framekit::player::Reply<()>) -> Option<T>,
) -> T {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Some(reply) = player
            .recv_timeout(std::time::Duration::from_millis(50))
            .expect("player alive")
            && let Some(found) = pick(reply)
        {
            return found;
        }
    }
    panic!("gave up waiting for {what}");
}

pub fn framekit_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_framekit"))
}

/// CRC-32 as PNG chunks use it.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One PNG chunk: length, type, data, CRC.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// A tiny PNG whose header claims `width` x `height` (colour type: 2 RGB or 0 grey).
pub fn claimed_png(width: u32, height: u32, colour: u8) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, colour, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0x60, 0x00, 0x00]));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// Frames in the long file's source clip (10 s at 25 fps) and the copies the long file holds.
pub const LONG_SOURCE_FRAMES: usize = 250;
pub const LONG_COPIES: usize = 120;

/// The 10-second clip (25 fps, keyframe every 50 frames, B-frames, AAC) that the long file
/// repeats.
pub fn long_source_clip() -> PathBuf {
    fixture(
        "long_source.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=25:duration=10",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=10",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-bf",
            "2",
            "-g",
            "50",
            "-keyint_min",
            "50",
            "-b:v",
            "1500k",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-shortest",
        ],
    )
}

/// The 20-minute MP4 (sample table at its end, as ffmpeg writes it).
pub fn long_mp4() -> PathBuf {
    let source = long_source_clip();
    let list = fixtures_dir().join("long_list.txt");
    let line = format!("file '{}'\n", source.display());
    std::fs::write(&list, line.repeat(LONG_COPIES)).expect("write list");
    let list = list.to_string_lossy().into_owned();
    fixture(
        "long.mp4",
        &["-f", "concat", "-safe", "0", "-i", &list, "-c", "copy"],
    )
}

/// A clip whose `hq` encode takes a few seconds here: long enough to kill or stop mid-way.
pub fn fleet_long_clip() -> PathBuf {
    fixture(
        "fleet-long.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=30:duration=12",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}
