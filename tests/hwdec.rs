//! `--hwdec`: which decoder ran, as `probe` and `framekit hwdec` say it, and frames identical
//! to software decoding. On a machine without a usable device (no GPU, no /dev/dri) `auto`
//! must fall back to software with the reason; on one with a device it decodes in hardware,
//! and the frames must still be byte-identical.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use framekit::media::{HwDecode, OpenOptions, VideoReader};

fn run(args: &[&str]) -> Output {
    common::framekit_bin().args(args).output().expect("run")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// Whether `framekit hwdec` found a device framekit can decode on here.
fn any_device() -> bool {
    let listing = json(&run(&["hwdec", "--json"]));
    listing["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .any(|d| d["unavailable"].is_null())
}

fn clips() -> Vec<PathBuf> {
    vec![
        common::h264_mp4(),
        common::hevc_open_gop(),
        common::h264_10bit(),
        common::vp9_webm(),
    ]
}

#[test]
fn hwdec_lists_compiled_types_and_each_device() {
    let listing = json(&run(&["hwdec", "--json"]));
    let compiled: Vec<&str> = listing["compiled"]
        .as_array()
        .expect("compiled")
        .iter()
        .map(|t| t.as_str().expect("name"))
        .collect();
    let devices = listing["devices"].as_array().expect("devices");
    let names: Vec<&str> = devices
        .iter()
        .map(|d| d["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["cuda", "vaapi", "vdpau"]);
    for device in devices {
        let name = device["name"].as_str().expect("name");
        assert_eq!(device["compiled_in"], compiled.contains(&name), "{device}");
        if device["compiled_in"] == false {
            assert!(device["unavailable"].is_string(), "{device}");
        }
    }
    let text = run(&["hwdec"]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("compiled in"), "{text}");
    assert_eq!(text.lines().count(), 4, "{text}");
}

#[test]
fn probe_says_which_decoder_ran() {
    let device = any_device();
    for clip in clips() {
        let clip = clip.to_string_lossy();
        let off = json(&run(&["probe", "--json", &clip]));
        assert_eq!(
            off["video"]["decoder"], "software (hardware decoding off)",
            "the CLI decodes in software unless asked"
        );
        let auto = json(&run(&["probe", "--json", "--hwdec", "auto", &clip]));
        let label = auto["video"]["decoder"].as_str().expect("decoder");
        if device {
            assert!(
                label.starts_with("hardware (") || label.starts_with("software ("),
                "{label}"
            );
        } else {
            assert!(
                label.starts_with("software (no hardware device: ")
                    || label.starts_with("software (no hardware decoder for "),
                "{clip}: {label}"
            );
        }
        let text = run(&["probe", "--hwdec", "auto", &clip]);
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.lines()
                .any(|l| l.starts_with("decoder") && l.ends_with(label)),
            "{text}"
        );
    }
}

#[test]
fn auto_gives_the_same_frames_as_software_decoding() {
    for clip in clips() {
        let clip = clip.to_string_lossy();
        let ids = "1,2,3,17,9,40,41,100,5";
        let frames = |hwdec: &str| {
            let out = run(&["frames", &clip, "--ids", ids, "--hwdec", hwdec]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        let software = frames("none");
        assert!(!software.is_empty());
        assert!(software == frames("auto"), "{clip}: frames differ");
    }
}

/// Random access through the library, both ways, every frame of each clip.
#[test]
fn readers_with_and_without_hardware_agree_frame_for_frame() {
    for clip in clips() {
        let open = |hwdec| {
            VideoReader::open(
                Path::new(&clip),
                &OpenOptions {
                    hwdec,
                    ..OpenOptions::default()
                },
            )
            .expect("open")
        };
        let mut software = open(HwDecode::Off);
        let mut auto = open(HwDecode::Auto);
        let count = software.frame_count();
        assert_eq!(count, auto.frame_count());
        for index in common::shuffled(count, 7).into_iter().take(40) {
            let expected = software.decoded(index).expect("software frame");
            let got = auto.decoded(index).expect("frame");
            assert_eq!(got.format(), expected.format(), "{clip:?} {index}");
            for plane in 0..expected.planes() {
                assert_eq!(
                    rows(&got, plane),
                    rows(&expected, plane),
                    "{clip:?} {index}"
                );
            }
        }
        let used = auto.decoder_used();
        assert!(
            used.starts_with("software (") || (any_device() && used.starts_with("hardware (")),
            "{used}"
        );
    }
}

/// A plane's samples row by row, without the padding after each row (strides may differ).
fn rows(frame: &ffmpeg_next::frame::Video, plane: usize) -> Vec<Vec<u8>> {
    let name = frame.format().descriptor().map_or("", |d| d.name());
    let bytes = if name.ends_with("le") || name.ends_with("be") {
        2
    } else {
        1
    };
    let width = frame.plane_width(plane) as usize * bytes;
    let stride = frame.stride(plane);
    (0..frame.plane_height(plane) as usize)
        .map(|y| frame.data(plane)[y * stride..][..width].to_vec())
        .collect()
}

#[test]
fn an_unknown_hwdec_value_is_a_clear_error() {
    let out = run(&[
        "probe",
        "--hwdec",
        "vaapi-please",
        &common::h264_mp4().to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("vaapi-please"), "{stderr}");
    assert!(
        stderr.contains("auto") && stderr.contains("none"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
