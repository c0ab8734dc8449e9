//! The app, driven through egui_kittest without a window: open, step, jump, copy, paste, drop,
//! errors, and a UI that keeps answering while the decoder is held in a slow seek.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use framekit::codec::{DecodeLimits, decode_base64_images};
use framekit::gui::FramekitApp;
use framekit::gui::app::Command;
use framekit::gui::clipboard::{ClipboardContent, MemoryClipboard};
use framekit::gui::decoder_thread::DecoderOptions;
use framekit::{MediaSource, OpenOptions};

/// Upper bound on UI steps while waiting for the decoder (each step sleeps briefly).
const STEP_LIMIT: usize = 4000;

fn harness(
    file: Option<PathBuf>,
    clipboard: &MemoryClipboard,
    options: DecoderOptions,
) -> Harness<'static, FramekitApp> {
    let clipboard = clipboard.clone();
    Harness::builder()
        .with_size([1100.0, 700.0])
        .build_eframe(move |cc| {
            FramekitApp::with_options(&cc.egui_ctx, file, Box::new(clipboard), options, Vec::new())
        })
}

/// Applies a command to the app as the UI would after drawing.
fn apply(harness: &mut Harness<'_, FramekitApp>, command: Command) {
    harness
        .state_mut()
        .apply(&egui::Context::default(), command);
}

/// Decoder options whose worker waits for a permit before each exact decode.
fn gated_options() -> (crossbeam_channel::Sender<()>, DecoderOptions) {
    let (permit, gate) = crossbeam_channel::unbounded();
    (
        permit,
        DecoderOptions {
            decode_gate: Some(gate),
            ..DecoderOptions::default()
        },
    )
}

fn step_until(
    harness: &mut Harness<'_, FramekitApp>,
    what: &str,
    done: impl Fn(&FramekitApp) -> bool,
) {
    for _ in 0..STEP_LIMIT {
        harness.step();
        if done(harness.state()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!(
        "gave up waiting for {what}; app error: {:?}",
        harness.state().error
    );
}

fn showing(index: usize) -> impl Fn(&FramekitApp) -> bool {
    move |app| {
        app.shown
            .as_ref()
            .is_some_and(|s| s.index == index && s.exact)
            && app.target == index
    }
}

fn shown_pixels(harness: &Harness<'_, FramekitApp>) -> Vec<u8> {
    harness
        .state()
        .shown
        .as_ref()
        .expect("a frame on screen")
        .frame
        .pixels
        .clone()
}

fn library_frame(path: &std::path::Path, index: usize) -> Vec<u8> {
    let mut source = MediaSource::open(path, &OpenOptions::default()).expect("open");
    source.frame(index).expect("frame").pixels
}

#[test]
fn open_step_and_jump() {
    let clip = common::h264_mp4();
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(clip.clone()), &clipboard, DecoderOptions::default());
    step_until(&mut harness, "the first frame", showing(0));
    harness.get_by_label("frame 1 / 132");

    harness.key_press(Key::ArrowRight);
    step_until(&mut harness, "frame 2", showing(1));
    harness.get_by_label("frame 2 / 132");

    harness.key_press_modifiers(Modifiers::SHIFT, Key::ArrowRight);
    step_until(&mut harness, "frame 12", showing(11));
    harness.key_press(Key::End);
    step_until(&mut harness, "the last frame", showing(131));
    harness.get_by_label("frame 132 / 132");
    harness.key_press(Key::ArrowLeft);
    step_until(&mut harness, "frame 131", showing(130));
    harness.key_press(Key::Home);
    step_until(&mut harness, "frame 1 again", showing(0));

    harness.get_by_label("Go to").click();
    harness.step();
    harness.get_by_label("Go to").type_text("50");
    harness.key_press(Key::Enter);
    step_until(&mut harness, "frame 50 from the go-to box", showing(49));
    let shown = shown_pixels(&harness);
    assert_eq!(
        shown,
        library_frame(&clip, 49),
        "the app shows the exact frame 50"
    );

    harness.state_mut().goto_text = "1.0s".to_string();
    harness.get_by_label("Go to").click();
    harness.step();
    harness.key_press(Key::Enter);
    step_until(&mut harness, "the frame at 1.0 s", showing(30));

    apply(&mut harness, Command::CopyStamp);
    assert_eq!(
        clipboard.content(),
        ClipboardContent::Text("f=31 t=1.000s".to_string())
    );

    // From 200% zoom up single pixels are drawn nearest-neighbour.
    let actual = Command::SetZoom(framekit::gui::viewer::Zoom::Scale(1.0));
    apply(&mut harness, actual.clone());
    harness.run_steps(2);
    assert!(
        !harness.state().nearest,
        "1:1 is drawn with linear sampling"
    );
    let zoom = Command::SetZoom(framekit::gui::viewer::Zoom::Scale(3.0));
    apply(&mut harness, zoom);
    harness.run_steps(2);
    assert!(
        harness.state().nearest,
        "zoomed to 300%: nearest-neighbour sampling"
    );
    apply(&mut harness, actual);
    harness.run_steps(2);
    assert!(!harness.state().nearest, "and back");
}

#[test]
fn broken_file_shows_error_and_app_stays_usable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.mp4");
    std::fs::write(&broken, b"this is not a video").expect("write");
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(broken), &clipboard, DecoderOptions::default());
    step_until(&mut harness, "an error", |app| app.error.is_some());
    let error = harness.state().error.clone().expect("error");
    assert!(
        error.contains("broken.mp4") && error.contains("not a video or image"),
        "{error}"
    );
    harness.get_by_label_contains("broken.mp4");

    apply(&mut harness, Command::Open(common::h264_mp4()));
    step_until(&mut harness, "the good file after the bad one", showing(0));
    assert!(harness.state().error.is_none());
}

#[derive(Debug)]
struct DroppedPath(PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        Err("not needed".to_string())
    }
}

#[test]
fn dropping_a_file_opens_it() {
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(None, &clipboard, DecoderOptions::default());
    harness.step();
    harness.get_by_label("no file open");
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(DroppedPath(common::vp9_webm())));
    step_until(&mut harness, "the dropped file's first frame", showing(0));
    assert!(
        harness
            .state()
            .media
            .as_ref()
            .expect("media")
            .info
            .path
            .ends_with("vp9.webm")
    );
    harness.get_by_label("frame 1 / 132");
}

#[test]
fn copy_from_the_app_and_paste_back_gives_the_same_pixels() {
    let clip = common::h264_mp4();
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(clip), &clipboard, DecoderOptions::default());
    step_until(&mut harness, "the first frame", showing(0));
    for _ in 0..4 {
        harness.key_press(Key::ArrowRight);
    }
    step_until(&mut harness, "frame 5", showing(4));
    let original = harness.state().shown.as_ref().expect("shown").frame.clone();

    harness.key_press_modifiers(Modifiers::COMMAND, Key::C);
    step_until(&mut harness, "the copy", |app| {
        app.note.as_deref().is_some_and(|n| n.starts_with("copied"))
    });
    let ClipboardContent::Text(text) = clipboard.content() else {
        panic!("expected text on the clipboard")
    };
    let decoded = decode_base64_images(&text, &DecodeLimits::default()).expect("valid base64 PNG");
    assert_eq!(decoded.len(), 1);
    assert_eq!(
        decoded[0].frames[0].pixels, original.pixels,
        "the clipboard holds the exact pixels"
    );
    assert!(
        harness
            .state()
            .note
            .as_deref()
            .unwrap_or("")
            .contains("base64 PNG, 176x144")
    );

    // Paste it back through the "Paste base64" panel.
    harness.state_mut().paste.open = true;
    harness.run_steps(3);
    harness.get_by_label("Base64 text").click();
    harness.step();
    harness.get_by_label("Base64 text").type_text(&text);
    step_until(&mut harness, "the pasted image", |app| {
        app.media
            .as_ref()
            .is_some_and(|m| m.info.kind == "pasted image")
            && app.shown.as_ref().is_some_and(|s| s.exact)
    });
    let pasted = harness.state().shown.as_ref().expect("shown").frame.clone();
    assert_eq!(
        pasted.pixels, original.pixels,
        "paste shows the same pixels"
    );
    harness.get_by_label("frame 1 / 1");

    // Ctrl+V with a '|' list on the clipboard gives frames to step through.
    let list = framekit::get_frames(&common::h264_mp4(), "3,7").expect("frames");
    clipboard
        .content
        .lock()
        .map(|mut c| *c = ClipboardContent::Text(list))
        .expect("clipboard");
    harness.state_mut().paste.open = false;
    harness.step();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::V);
    step_until(&mut harness, "two pasted frames", |app| {
        app.frame_count() == 2 && app.shown.as_ref().is_some_and(|s| s.exact)
    });
    harness.key_press(Key::ArrowRight);
    step_until(&mut harness, "the second pasted frame", showing(1));
    let second = shown_pixels(&harness);
    assert_eq!(second, library_frame(&common::h264_mp4(), 6));
}

#[test]
fn bad_paste_says_why() {
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(None, &clipboard, DecoderOptions::default());
    harness.step();
    apply(&mut harness, Command::PasteText("eyJhIjogMX0=".to_string()));
    step_until(&mut harness, "the paste error", |app| app.error.is_some());
    let error = harness.state().error.clone().expect("error");
    assert!(
        error.contains("not an image") && error.contains("looks like JSON"),
        "{error}"
    );
}

#[test]
fn ui_keeps_answering_while_the_decoder_is_held_in_a_slow_seek() {
    let (permit, options) = gated_options();
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(common::h264_mp4()), &clipboard, options);
    permit.send(()).expect("permit");
    step_until(&mut harness, "the first frame", showing(0));

    // Ask for a far frame; the decoder now blocks until the test lets it go.
    apply(&mut harness, Command::Goto(99));
    // The nearest cached frame arrives as a placeholder; the exact one cannot (the gate holds).
    step_until(&mut harness, "a placeholder", |app| {
        app.shown.as_ref().is_some_and(|s| !s.exact)
    });
    for _ in 0..30 {
        harness.step();
    }
    let app = harness.state();
    assert_eq!(app.target, 99);
    let shown = app.shown.as_ref().expect("a frame stays on screen");
    assert!(
        shown.index != 99 && !shown.exact,
        "a nearby cached frame stands in as a placeholder"
    );
    harness.get_by_label("placeholder, decoding frame 100");
    // The UI still takes input: hide and show the info panel while the seek is held.
    assert!(harness.query_by_label("Info").is_some());
    harness.state_mut().show_info = false;
    harness.step();
    assert!(harness.query_by_label("Info").is_none());

    permit.send(()).expect("permit");
    step_until(
        &mut harness,
        "frame 100 after the seek is released",
        showing(99),
    );
    harness.get_by_label("exact");
}

#[test]
fn dropping_several_videos_queues_them_for_transcoding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(None, &clipboard, DecoderOptions::default());
    harness.state_mut().transcode.queue_path = dir.path().join("queue.sqlite");
    harness.state_mut().transcode.output_dir = Some(dir.path().join("out"));
    harness.step();
    let a = common::fixture(
        "gui_tc_a.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=160x120:r=25:d=1",
            "-c:v",
            "libx264",
        ],
    );
    let b = common::fixture(
        "gui_tc_b.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=160x120:r=25:d=1",
            "-c:v",
            "libx264",
        ],
    );
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(DroppedPath(a)));
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(DroppedPath(b)));
    harness.run_steps(3);
    assert!(harness.state().transcode.open, "the transcode panel opens");
    assert_eq!(harness.state().transcode.staged.len(), 2);
    assert!(
        harness.state().media.is_none(),
        "several dropped files are queued, not opened"
    );
    harness.get_by_label("Start (2)").click();
    step_until(&mut harness, "both transcodes", |app| {
        app.transcode.rows.len() == 2
            && app
                .transcode
                .rows
                .values()
                .all(|r| r.status == framekit::jobs::JobStatus::Succeeded)
            && !app.transcode.is_running()
    });
    assert!(dir.path().join("out").join("gui_tc_a.mp4").exists());
    assert!(dir.path().join("out").join("gui_tc_b.mp4").exists());
    assert_eq!(
        harness.get_all_by_label("succeeded").count(),
        2,
        "both rows say so"
    );
}

#[test]
fn frame_requests_are_latest_wins_not_queued() {
    use framekit::gui::decoder_thread::{DecoderHandle, Reply, Request};
    let (permit, options) = gated_options();
    let decoder = DecoderHandle::spawn(options, || {});
    decoder
        .send(Request::Open(common::h264_mp4()))
        .expect("open");
    // The worker blocks in the first request's decode while fifty more pile up.
    for frame in 10..60 {
        decoder
            .send(Request::Show {
                frame,
                generation: 0,
            })
            .expect("show");
    }
    for _ in 0..3 {
        permit.send(()).expect("permit");
    }
    let mut exact = Vec::new();
    for _ in 0..4000 {
        match decoder.try_recv().expect("worker alive") {
            Some(Reply::Frame(ready)) if ready.exact => exact.push(ready.index),
            Some(Reply::Failed(e)) => panic!("{e}"),
            Some(_) => {}
            None => {
                if exact.contains(&59) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    assert_eq!(
        exact,
        vec![59],
        "only the newest request is decoded; stale ones are dropped"
    );
}

#[test]
fn copy_as_image_puts_the_exact_pixels_on_the_clipboard() {
    let clip = common::h264_mp4();
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(clip.clone()), &clipboard, DecoderOptions::default());
    step_until(&mut harness, "the first frame", showing(0));
    let copy = Command::Copy(framekit::gui::decoder_thread::CopyForm::Image);
    apply(&mut harness, copy);
    step_until(&mut harness, "the bitmap copy", |app| {
        app.note
            .as_deref()
            .is_some_and(|n| n.contains("as an image"))
    });
    let ClipboardContent::Image(image) = clipboard.content() else {
        panic!("expected a bitmap")
    };
    assert_eq!((image.width, image.height), (176, 144));
    let expected = MediaSource::open(&clip, &OpenOptions::default())
        .expect("open")
        .frame(0)
        .expect("frame")
        .to_rgba();
    assert_eq!(image.rgba, expected);
}
