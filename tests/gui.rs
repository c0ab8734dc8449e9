//! The app, driven through egui_kittest without a window: open, step, jump, copy, paste, drop,
//! errors, and a UI that keeps answering while the decoder is held in a slow seek.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use framekit::clipboard::{ClipboardContent, MemoryClipboard};
use framekit::codec::{DecodeLimits, decode_base64_images};
use framekit::gui::transcode_panel::PanelCommand;
use framekit::gui::{AppOptions, Command, FramekitApp};
use framekit::player::{CopyForm, PlayerOptions};
use framekit::{MediaSource, OpenOptions};

/// Upper bound on UI steps while waiting for the decoder (each step sleeps briefly).
const STEP_LIMIT: usize = 4000;

/// How long [`step_until`] waits at least, however fast the steps go: a transcode or a fleet
/// enqueue on a loaded machine can take longer than [`STEP_LIMIT`] short steps.
const STEP_DEADLINE: Duration = Duration::from_secs(90);

fn harness(
    file: Option<PathBuf>,
    clipboard: &MemoryClipboard,
    options: PlayerOptions,
) -> Harness<'static, FramekitApp> {
    harness_with(file, Box::new(clipboard.clone()), options)
}

/// The app on any clipboard, with its job table in a folder of its own.
fn harness_with(
    file: Option<PathBuf>,
    clipboard: Box<dyn framekit::clipboard::ClipboardAccess>,
    player: PlayerOptions,
) -> Harness<'static, FramekitApp> {
    let queue_dir = tempfile::tempdir().expect("tempdir").keep();
    Harness::builder()
        .with_size([1100.0, 700.0])
        .build_eframe(move |cc| {
            let mut options = AppOptions::new(clipboard);
            options.file = file;
            options.player = player;
            options.queue = framekit::jobs::QueueLocation::Sqlite(queue_dir.join("queue.sqlite"));
            FramekitApp::with_options(&cc.egui_ctx, options)
        })
}

/// Applies a command to the app as the UI would after drawing.
fn apply(harness: &mut Harness<'_, FramekitApp>, command: Command) {
    harness
        .state_mut()
        .apply(&egui::Context::default(), command);
}

/// Decoder options whose worker waits for a permit before each exact decode.
fn gated_options() -> (crossbeam_channel::Sender<()>, PlayerOptions) {
    let (permit, gate) = crossbeam_channel::unbounded();
    (
        permit,
        PlayerOptions {
            decode_gate: Some(gate),
            ..PlayerOptions::default()
        },
    )
}

/// Adds one file to the transcode panel, waits until it is checked and staged, and presses
/// Start. A click lands where the button was drawn last; if the panel's layout moved under
/// it (a background answer arriving in between), Start is pressed again.
fn stage_and_start(harness: &mut Harness<'_, FramekitApp>, clip: std::path::PathBuf) {
    apply(harness, Command::Panel(PanelCommand::AddFiles(vec![clip])));
    step_until(harness, "the file checked and staged", |app| {
        app.transcode().staged().len() == 1
    });
    let started = |app: &FramekitApp| {
        let panel = app.transcode();
        panel.is_running() || panel.is_enqueuing() || panel.staged().is_empty()
    };
    for _ in 0..3 {
        harness.run_steps(2);
        harness.get_by_label("Start (1)").click();
        for _ in 0..20 {
            harness.step();
            if started(harness.state()) {
                return;
            }
        }
    }
    panic!("pressing Start (1) three times started nothing");
}

fn step_until(
    harness: &mut Harness<'_, FramekitApp>,
    what: &str,
    done: impl Fn(&FramekitApp) -> bool,
) {
    let deadline = std::time::Instant::now() + STEP_DEADLINE;
    let mut steps = 0;
    while steps < STEP_LIMIT || std::time::Instant::now() < deadline {
        harness.step();
        if done(harness.state()) {
            return;
        }
        steps += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    let panel = harness.state().transcode();
    panic!(
        "gave up waiting for {what}; app error: {:?}; transcode panel: staged {}, running {}, \
         enqueuing {}, rows {:?}, error {:?}, fleet counts {:?}",
        harness.state().messages().error,
        panel.staged().len(),
        panel.is_running(),
        panel.is_enqueuing(),
        panel.rows().values().map(|r| r.status).collect::<Vec<_>>(),
        panel.error(),
        panel.fleet_counts()
    );
}

fn showing(index: usize) -> impl Fn(&FramekitApp) -> bool {
    move |app| app.screen().is_showing(index)
}

fn shown_pixels(harness: &Harness<'_, FramekitApp>) -> Vec<u8> {
    harness
        .state()
        .screen()
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
    let mut harness = harness(Some(clip.clone()), &clipboard, PlayerOptions::default());
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

    harness.get_by_label("Go to").click();
    harness.step();
    harness.key_press(Key::Backspace);
    harness.key_press(Key::Backspace);
    harness.get_by_label("Go to").type_text("1.0s");
    harness.key_press(Key::Enter);
    step_until(&mut harness, "the frame at 1.0 s", showing(30));

    apply(&mut harness, Command::CopyStamp);
    step_until(&mut harness, "the stamp on the clipboard", |app| {
        app.messages().note.as_deref() == Some("copied f=31 t=1.000s")
    });
    assert_eq!(
        clipboard.content(),
        ClipboardContent::Text("f=31 t=1.000s".to_string())
    );

    // From 200% zoom up single pixels are drawn nearest-neighbour.
    let actual = Command::SetZoom(framekit::gui::viewer::Zoom::Scale(1.0));
    apply(&mut harness, actual.clone());
    harness.run_steps(2);
    assert!(
        !harness.state().view().nearest,
        "1:1 is drawn with linear sampling"
    );
    let zoom = Command::SetZoom(framekit::gui::viewer::Zoom::Scale(3.0));
    apply(&mut harness, zoom);
    harness.run_steps(2);
    assert!(
        harness.state().view().nearest,
        "zoomed to 300%: nearest-neighbour sampling"
    );
    apply(&mut harness, actual);
    harness.run_steps(2);
    assert!(!harness.state().view().nearest, "and back");
}

#[test]
fn broken_file_shows_error_and_app_stays_usable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.mp4");
    std::fs::write(&broken, b"this is not a video").expect("write");
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(broken), &clipboard, PlayerOptions::default());
    step_until(&mut harness, "an error", |app| {
        app.messages().error.is_some()
    });
    let error = harness.state().messages().error.clone().expect("error");
    assert!(
        error.contains("broken.mp4") && error.contains("not a video or image"),
        "{error}"
    );
    harness.get_by_label_contains("broken.mp4");
    assert!(
        harness.state().recent().is_empty(),
        "a file that failed to open is not a recent file"
    );

    apply(&mut harness, Command::Open(common::h264_mp4()));
    step_until(&mut harness, "the good file after the bad one", showing(0));
    assert!(
        harness.state().messages().error.is_none(),
        "the error clears on the next success"
    );
    assert_eq!(harness.state().recent().len(), 1);
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
    let mut harness = harness(None, &clipboard, PlayerOptions::default());
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
            .screen()
            .media
            .as_ref()
            .expect("media")
            .info
            .path
            .ends_with("vp9.webm")
    );
    // WebM has no sample table: the count grows to the whole once the background index
    // has read the file.
    step_until(&mut harness, "the background index", |app| {
        app.screen()
            .media
            .as_ref()
            .is_some_and(|m| !m.count_is_partial() && m.indexing.is_none())
    });
    harness.step();
    harness.get_by_label("frame 1 / 132");
}

#[test]
fn copy_from_the_app_and_paste_back_gives_the_same_pixels() {
    let clip = common::h264_mp4();
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(clip), &clipboard, PlayerOptions::default());
    step_until(&mut harness, "the first frame", showing(0));
    for _ in 0..4 {
        harness.key_press(Key::ArrowRight);
    }
    step_until(&mut harness, "frame 5", showing(4));
    let original = harness
        .state()
        .screen()
        .shown
        .as_ref()
        .expect("shown")
        .frame
        .clone();

    harness.key_press_modifiers(Modifiers::COMMAND, Key::C);
    step_until(&mut harness, "the copy", |app| {
        app.messages()
            .note
            .as_deref()
            .is_some_and(|n| n.starts_with("copied"))
    });
    let ClipboardContent::Text(text) = clipboard.content() else {
        panic!("expected text on the clipboard")
    };
    let decoded = decode_base64_images(&text, &DecodeLimits::default()).expect("valid base64 PNG");
    assert_eq!(decoded.len(), 1);
    assert_eq!(
        decoded[0].image.frame(0).expect("frame").pixels,
        original.pixels,
        "the clipboard holds the exact pixels"
    );
    assert!(
        harness
            .state()
            .messages()
            .note
            .as_deref()
            .unwrap_or("")
            .contains("base64 PNG, 176x144")
    );

    // Paste it back through the "Paste base64" panel.
    apply(&mut harness, Command::TogglePastePanel);
    harness.run_steps(3);
    harness.get_by_label("Base64 text").click();
    harness.step();
    harness.get_by_label("Base64 text").type_text(&text);
    step_until(&mut harness, "the pasted image", |app| {
        app.screen()
            .media
            .as_ref()
            .is_some_and(|m| m.info.kind_label() == "pasted image")
            && app.screen().shown.as_ref().is_some_and(|s| s.exact)
    });
    let pasted = harness
        .state()
        .screen()
        .shown
        .as_ref()
        .expect("shown")
        .frame
        .clone();
    assert_eq!(
        pasted.pixels, original.pixels,
        "paste shows the same pixels"
    );
    harness.get_by_label("frame 1 / 1");

    // Ctrl+V with a '|' list on the clipboard gives frames to step through.
    let list = framekit::get_frames(&common::h264_mp4(), "3,7").expect("frames");
    clipboard.put(ClipboardContent::Text(list));
    apply(&mut harness, Command::TogglePastePanel);
    harness.step();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::V);
    step_until(&mut harness, "two pasted frames", |app| {
        app.frame_count() == 2 && app.screen().shown.as_ref().is_some_and(|s| s.exact)
    });
    harness.key_press(Key::ArrowRight);
    step_until(&mut harness, "the second pasted frame", showing(1));
    let second = shown_pixels(&harness);
    assert_eq!(second, library_frame(&common::h264_mp4(), 6));
}

#[test]
fn bad_paste_says_why() {
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(None, &clipboard, PlayerOptions::default());
    harness.step();
    apply(&mut harness, Command::PasteText("eyJhIjogMX0=".to_string()));
    step_until(&mut harness, "the paste error", |app| {
        app.messages().error.is_some()
    });
    let error = harness.state().messages().error.clone().expect("error");
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
        app.screen().shown.as_ref().is_some_and(|s| !s.exact)
    });
    for _ in 0..30 {
        harness.step();
    }
    let screen = harness.state().screen();
    assert_eq!(screen.target, 99);
    let shown = screen.shown.as_ref().expect("a frame stays on screen");
    assert!(
        shown.index != 99 && !shown.exact,
        "a nearby cached frame stands in as a placeholder"
    );
    harness.get_by_label("placeholder, decoding frame 100");
    // The UI still takes input: hide and show the info panel while the seek is held.
    assert!(harness.query_by_label("Info").is_some());
    apply(&mut harness, Command::ToggleInfo);
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
    let mut harness = harness(None, &clipboard, PlayerOptions::default());
    apply(
        &mut harness,
        Command::Panel(PanelCommand::SetOutputFolder(Some(dir.path().join("out")))),
    );
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
    assert!(
        harness.state().transcode().is_open(),
        "the transcode panel opens"
    );
    // The panel checks dropped files off the UI thread before staging them.
    step_until(&mut harness, "both files checked", |app| {
        !app.transcode().is_checking()
    });
    assert_eq!(harness.state().transcode().staged().len(), 2);
    assert!(
        harness.state().screen().media.is_none(),
        "several dropped files are queued, not opened"
    );
    harness.get_by_label("Start (2)").click();
    step_until(&mut harness, "both transcodes", |app| {
        let panel = app.transcode();
        panel.rows().len() == 2
            && panel
                .rows()
                .values()
                .all(|r| r.status == framekit::jobs::JobStatus::Succeeded)
            && !panel.is_running()
    });
    assert!(dir.path().join("out").join("gui_tc_a.mp4").exists());
    assert!(dir.path().join("out").join("gui_tc_b.mp4").exists());
    assert_eq!(
        harness.get_all_by_label("succeeded").count(),
        2,
        "both rows say so"
    );

    // "compare with source" on a finished row: its source as A, its output as B.
    harness
        .get_all_by_label("compare with source")
        .next()
        .expect("a compare button on a finished row")
        .click();
    step_until(&mut harness, "source and output side by side", |app| {
        app.compare().is_some_and(|c| {
            c.b_shown.as_ref().is_some_and(|b| b.exact)
                && c.b_path.file_name() == Some(std::ffi::OsStr::new("gui_tc_a.mp4"))
                && c.b_path.starts_with(dir.path())
        }) && app.screen().is_showing(0)
            && app
                .screen()
                .media
                .as_ref()
                .is_some_and(|m| m.info.path.ends_with("fixtures/gui_tc_a.mp4"))
    });
    step_until(&mut harness, "the pair's scores", |app| {
        app.compare().is_some_and(|c| c.scores.contains_key(&0))
    });
}

#[test]
fn copy_as_image_puts_the_exact_pixels_on_the_clipboard() {
    let clip = common::h264_mp4();
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(clip.clone()), &clipboard, PlayerOptions::default());
    step_until(&mut harness, "the first frame", showing(0));
    let copy = Command::Copy(CopyForm::Image);
    apply(&mut harness, copy);
    step_until(&mut harness, "the bitmap copy", |app| {
        app.messages()
            .note
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

/// A clipboard that holds every bitmap write until the test lets it go, and records which
/// thread wrote: a stand-in for arboard's slow PNG encode of a large image.
struct HeldClipboard {
    inner: MemoryClipboard,
    gate: crossbeam_channel::Receiver<()>,
    writer: Arc<std::sync::Mutex<Option<String>>>,
}

impl framekit::clipboard::ClipboardAccess for HeldClipboard {
    fn set_text(&mut self, text: String) -> Result<(), framekit::clipboard::ClipboardError> {
        self.inner.set_text(text)
    }

    fn get_text(&mut self) -> Result<String, framekit::clipboard::ClipboardError> {
        self.inner.get_text()
    }

    fn set_image(
        &mut self,
        image: framekit::clipboard::ClipboardImage,
    ) -> Result<(), framekit::clipboard::ClipboardError> {
        let name = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_string();
        if let Ok(mut writer) = self.writer.lock() {
            *writer = Some(name);
        }
        // Bounded, so a regression that calls this on the UI thread fails instead of hanging.
        let _ = self.gate.recv_timeout(Duration::from_secs(60));
        self.inner.set_image(image)
    }

    fn get_image(
        &mut self,
    ) -> Result<framekit::clipboard::ClipboardImage, framekit::clipboard::ClipboardError> {
        self.inner.get_image()
    }
}

#[test]
fn the_ui_keeps_drawing_while_a_4k_copy_is_on_its_way_to_the_clipboard() {
    use framekit::clipboard::ClipboardAccess as _;
    let clip = common::fixture(
        "uhd_h264.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=3840x2160:r=25:d=0.4",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let memory = MemoryClipboard::default();
    let (permit, gate) = crossbeam_channel::unbounded();
    let writer = Arc::new(std::sync::Mutex::new(None));
    let held = HeldClipboard {
        inner: memory.clone(),
        gate,
        writer: writer.clone(),
    };
    let mut harness = harness_with(Some(clip), Box::new(held), PlayerOptions::default());
    step_until(&mut harness, "the first 4K frame", showing(0));

    apply(&mut harness, Command::Copy(CopyForm::Image));
    step_until(&mut harness, "the clipboard write to start", |_| {
        writer.lock().map(|w| w.is_some()).unwrap_or(false)
    });
    // The clipboard is held mid-write; the UI still steps and draws frames.
    harness.key_press(Key::ArrowRight);
    step_until(&mut harness, "frame 2 while the copy is held", showing(1));
    harness.key_press(Key::ArrowRight);
    step_until(&mut harness, "frame 3 while the copy is held", showing(2));
    assert_eq!(memory.content(), ClipboardContent::Empty, "still held");

    permit.send(()).expect("permit");
    step_until(&mut harness, "the copy to finish", |app| {
        app.messages()
            .note
            .as_deref()
            .is_some_and(|n| n.contains("as an image, 3840x2160"))
    });
    let ClipboardContent::Image(image) = memory.content() else {
        panic!("expected a bitmap on the clipboard")
    };
    assert_eq!((image.width, image.height), (3840, 2160));
    let writer = writer.lock().expect("lock").clone().expect("a writer");
    assert_eq!(
        writer, "framekit-clipboard",
        "the bitmap went to the clipboard from the clipboard thread, not the UI thread"
    );
    let mut check = memory.clone();
    assert!(check.get_image().is_ok());
}

fn right_press(repeat: bool) -> egui::Event {
    egui::Event::Key {
        key: Key::ArrowRight,
        physical_key: None,
        pressed: true,
        repeat,
        modifiers: Modifiers::NONE,
    }
}

#[test]
fn every_key_press_counts_even_ten_in_one_frame() {
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(
        Some(common::h264_mp4()),
        &clipboard,
        PlayerOptions::default(),
    );
    step_until(&mut harness, "the first frame", showing(0));
    assert_eq!(
        harness.state().window_title(),
        "h264_bframes.mp4 — frame 1/132 — framekit"
    );
    // Ten presses delivered in a single UI frame: ten frames, not one.
    for _ in 0..10 {
        harness.input_mut().events.push(right_press(false));
    }
    harness.step();
    assert_eq!(harness.state().screen().target, 10);
    step_until(&mut harness, "frame 11", showing(10));
    // Holding the key: the repeats count too, one step each.
    harness.input_mut().events.push(right_press(false));
    for _ in 0..5 {
        harness.input_mut().events.push(right_press(true));
    }
    harness.step();
    step_until(&mut harness, "frame 17 after holding Right", showing(16));
    assert_eq!(
        harness.state().window_title(),
        "h264_bframes.mp4 — frame 17/132 — framekit",
        "the title names the file and the frame"
    );
    // Zoom keys: Ctrl+1 is 100%, Ctrl+plus zooms in, Ctrl+0 fits again.
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Num1);
    harness.run_steps(2);
    assert_eq!(
        harness.state().view().zoom,
        framekit::gui::viewer::Zoom::Scale(1.0)
    );
    harness.get_by_label_contains("100%");
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Plus);
    harness.run_steps(2);
    assert_eq!(
        harness.state().view().zoom,
        framekit::gui::viewer::Zoom::Scale(1.25)
    );
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Num0);
    harness.run_steps(2);
    assert_eq!(
        harness.state().view().zoom,
        framekit::gui::viewer::Zoom::Fit
    );
}

#[test]
fn without_a_file_dialog_a_typed_path_box_opens_the_file() {
    let clipboard = MemoryClipboard::default();
    let queue_dir = tempfile::tempdir().expect("tempdir").keep();
    let memory = clipboard.clone();
    let mut harness = Harness::builder()
        .with_size([1100.0, 700.0])
        .build_eframe(move |cc| {
            let mut options = AppOptions::new(Box::new(memory));
            options.queue = framekit::jobs::QueueLocation::Sqlite(queue_dir.join("queue.sqlite"));
            options.native_dialogs = false;
            FramekitApp::with_options(&cc.egui_ctx, options)
        });
    harness.step();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::O);
    step_until(&mut harness, "the typed-path box", |app| {
        app.path_prompt().is_some()
    });
    harness.run_steps(2);
    harness.get_by_label_contains("No file dialog is available");
    let clip = common::h264_mp4();
    let folder = format!("{}/", clip.parent().expect("folder").display());
    let field = harness.get_by_label("Path");
    field.click();
    harness.step();
    // Replace the starting folder with the fixture folder and part of the name.
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness
        .get_by_label("Path")
        .type_text(&format!("{folder}h264_bf"));
    // Completion (listed off the UI thread) offers the file; Tab takes it.
    for _ in 0..200 {
        harness.step();
        if harness
            .query_by_label(&format!("{folder}h264_bframes.mp4"))
            .is_some()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    harness
        .get_by_label(&format!("{folder}h264_bframes.mp4"))
        .click();
    harness.step();
    harness.get_by_label("Choose").click();
    step_until(&mut harness, "the typed file open", showing(0));
    assert!(harness.state().path_prompt().is_none(), "the box closes");
    assert!(
        harness
            .state()
            .window_title()
            .starts_with("h264_bframes.mp4 — frame 1/132")
    );
}

#[test]
fn a_click_pins_the_inspector_and_escape_unpins_it() {
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(
        Some(common::h264_mp4()),
        &clipboard,
        PlayerOptions::default(),
    );
    step_until(&mut harness, "the first frame", showing(0));
    harness.run_steps(2);
    let view = harness
        .state()
        .view()
        .last_view
        .expect("the viewer was drawn");
    let centre = view.center();
    let click = |pressed| egui::Event::PointerButton {
        pos: centre,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: Modifiers::NONE,
    };
    harness
        .input_mut()
        .events
        .push(egui::Event::PointerMoved(centre));
    harness.step();
    harness.input_mut().events.push(click(true));
    harness.step();
    harness.input_mut().events.push(click(false));
    harness.run_steps(2);
    let pinned = harness.state().view().pinned_pixel.expect("pinned");
    harness.get_by_label("pinned (Esc to unpin)");
    // Moving away keeps the readout on the pinned pixel.
    harness.input_mut().events.push(egui::Event::PointerMoved(
        view.left_top() + egui::vec2(5.0, 5.0),
    ));
    harness.run_steps(2);
    assert_eq!(harness.state().view().pinned_pixel, Some(pinned));
    harness.get_by_label_contains(&format!("x={} y={}", pinned.0, pinned.1));
    harness.key_press(Key::Escape);
    harness.run_steps(2);
    assert_eq!(harness.state().view().pinned_pixel, None);
}

#[test]
fn with_a_fleet_queue_start_enqueues_and_the_panel_shows_the_fleet_s_workers() {
    use framekit::jobs::{ClaimFilter, JobStatus, QueueLocation};
    let dir = tempfile::tempdir().expect("tempdir");
    let url = common::pg::PgCluster::shared().fresh_database();
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(None, &clipboard, PlayerOptions::default());
    apply(
        &mut harness,
        Command::Panel(PanelCommand::SetOutputFolder(Some(dir.path().join("out")))),
    );
    apply(
        &mut harness,
        Command::Panel(PanelCommand::SetFleetQueue(Some(url.clone()))),
    );
    let clip = common::fixture(
        "gui_fleet.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=160x120:r=25:d=1",
            "-c:v",
            "libx264",
        ],
    );
    stage_and_start(&mut harness, clip);
    step_until(&mut harness, "the job in the fleet's queue", |app| {
        app.transcode()
            .rows()
            .values()
            .any(|r| r.status == JobStatus::Pending)
    });
    assert!(
        !harness.state().transcode().is_running(),
        "nothing runs on this machine"
    );

    // A worker elsewhere claims it and reports progress; the panel shows both.
    let mut fleet = QueueLocation::Postgres(url)
        .open()
        .expect("open the fleet queue");
    let lease = fleet
        .claim(
            "node-7:4242",
            Duration::from_secs(60),
            &ClaimFilter::default(),
        )
        .expect("claim")
        .expect("the job");
    assert!(
        fleet
            .heartbeat(lease.job.id, &lease.token, Duration::from_secs(60), 0.5)
            .expect("heartbeat")
    );
    step_until(&mut harness, "the worker and its progress", |app| {
        app.transcode()
            .rows()
            .values()
            .any(|r| r.worker.as_deref() == Some("node-7:4242") && (r.fraction - 0.5).abs() < 1e-9)
    });
    harness.run_steps(2);
    harness.get_by_label("processing on node-7:4242");
    // The fleet's counts, read in the database (recounted every few seconds).
    step_until(&mut harness, "the fleet's counts", |app| {
        app.transcode()
            .fleet_counts()
            .is_some_and(|c| c.processing == 1 && c.total() == 1)
    });
    harness.run_steps(2);
    harness.get_by_label(
        "Fleet queue: 1 job: 0 pending, 1 running, 0 succeeded, 0 failed, 0 cancelled",
    );

    std::fs::create_dir_all(dir.path().join("out")).expect("out");
    let temp = dir.path().join("out").join(".part");
    std::fs::write(&temp, b"encoded elsewhere").expect("temp");
    fleet.publish(&lease, &temp).expect("publish");
    step_until(&mut harness, "the job done", |app| {
        app.transcode()
            .rows()
            .values()
            .all(|r| r.status == JobStatus::Succeeded && r.worker.is_none())
    });
}

/// B for the compare tests: the pattern clip re-encoded at a low quality.
fn compare_b() -> PathBuf {
    let source = common::h264_mp4();
    common::fixture(
        "gui_compare_b.mp4",
        &[
            "-i",
            &source.to_string_lossy(),
            "-c:v",
            "libx264",
            "-crf",
            "36",
        ],
    )
}

fn b_showing(index: usize) -> impl Fn(&FramekitApp) -> bool {
    move |app| {
        app.compare()
            .and_then(|c| c.b_shown.as_ref())
            .is_some_and(|b| b.index == index && b.exact)
    }
}

#[test]
fn compare_views_follow_a_with_scores_inspector_and_offset() {
    use framekit::gui::compare_view::{CompareCommand, CompareMode};
    let (a, b) = (common::h264_mp4(), compare_b());
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(a.clone()), &clipboard, PlayerOptions::default());
    step_until(&mut harness, "A's first frame", showing(0));
    apply(
        &mut harness,
        Command::Compare(CompareCommand::OpenB(b.clone())),
    );
    step_until(&mut harness, "B's first frame", b_showing(0));
    harness.get_by_label("A: h264_bframes.mp4");
    harness.get_by_label("B: gui_compare_b.mp4");
    assert_eq!(
        harness.state().compare().map(|c| c.mode),
        Some(CompareMode::SideBySide)
    );

    // The inspector shows A's and B's values at the same pixel.
    apply(&mut harness, Command::PinPixel(Some((40, 30))));
    harness.run_steps(2);
    let expect = |path: &std::path::Path| {
        let pixels = library_frame(path, 0);
        let at = (30 * 176 + 40) * 3;
        let [r, g, bl] = [pixels[at], pixels[at + 1], pixels[at + 2]];
        format!("#{r:02X}{g:02X}{bl:02X}  R {r} G {g} B {bl}")
    };
    harness.get_by_label_contains(&format!("A {}", expect(&a)));
    harness.get_by_label_contains(&format!("B {}", expect(&b)));

    // The pair's scores arrive from the worker thread.
    step_until(&mut harness, "scores for frame 1", |app| {
        app.compare().is_some_and(|c| c.scores.contains_key(&0))
    });
    harness.run_steps(2);
    harness.get_by_label_contains("A 1 / B 1: PSNR y");
    step_until(&mut harness, "the RGB PSNR of the pair", |app| {
        app.compare()
            .and_then(|c| c.rgb_psnr)
            .is_some_and(|(a, b, db)| (a, b) == (0, 0) && db.is_finite() && db > 20.0)
    });
    harness.run_steps(2);
    harness.get_by_label_contains("RGB PSNR");

    // Views switch from the bar; difference gets its image for the pair on screen.
    harness.get_by_label("Wipe").click();
    harness.run_steps(2);
    assert_eq!(
        harness.state().compare().map(|c| c.mode),
        Some(CompareMode::Wipe)
    );
    harness.get_by_label("Difference").click();
    step_until(&mut harness, "the difference image", |app| {
        app.compare()
            .and_then(|c| c.difference.as_ref())
            .is_some_and(|d| (d.a, d.b) == (0, 0))
    });
    harness.key_press(Key::F);
    harness.run_steps(2);
    let compare = harness.state().compare().expect("compare");
    assert_eq!(
        (compare.mode, compare.flicker_b),
        (CompareMode::Flicker, true)
    );

    // The offset changes which B frame is shown, and B follows A's steps.
    harness.key_press(Key::CloseBracket);
    step_until(&mut harness, "B frame 2 beside A frame 1", b_showing(1));
    harness.get_by_label("offset +1");
    harness.key_press(Key::ArrowRight);
    step_until(&mut harness, "A frame 2", showing(1));
    step_until(&mut harness, "B frame 3", b_showing(2));

    // The whole clip scored, the worst frames listed.
    harness.get_by_label("Score whole clip").click();
    step_until(&mut harness, "every pair scored", |app| {
        app.compare()
            .is_some_and(|c| c.scores.len() == 131 && !c.scoring())
    });

    harness.get_by_label("Close compare").click();
    harness.run_steps(2);
    assert!(harness.state().compare().is_none());
}

#[test]
fn hdr_is_tone_mapped_and_h_shows_it_as_tagged_on_the_same_frame() {
    let clip = common::pq_x264();
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(clip.clone()), &clipboard, PlayerOptions::default());
    step_until(&mut harness, "the first frame", showing(0));
    harness.key_press(Key::ArrowRight);
    harness.key_press(Key::ArrowRight);
    step_until(&mut harness, "frame 3", showing(2));
    harness.get_by_label("tone-mapped");
    let mapped = shown_pixels(&harness);
    assert_eq!(mapped, library_frame(&clip, 2));

    harness.key_press(Key::H);
    step_until(&mut harness, "frame 3 as tagged", |app| {
        let reopened = app
            .screen()
            .media
            .as_ref()
            .and_then(|m| m.info.video.as_ref())
            .is_some_and(|v| v.color.tone_map.is_none());
        app.hdr_mode() == framekit::media::HdrMode::None && reopened && app.screen().is_showing(2)
    });
    harness.run_steps(2);
    harness.get_by_label("HDR as tagged");
    let as_tagged = shown_pixels(&harness);
    let untouched = {
        let options = OpenOptions {
            hdr: framekit::media::HdrMode::None,
            ..OpenOptions::default()
        };
        let mut source = MediaSource::open(&clip, &options).expect("open");
        source.frame(2).expect("frame").pixels
    };
    assert_eq!(as_tagged, untouched);
    assert_ne!(as_tagged, mapped);
}

#[test]
fn playback_shows_a_dropped_frame_counter() {
    let clip = common::h264_mp4();
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(clip), &clipboard, PlayerOptions::default());
    step_until(&mut harness, "the first frame", showing(0));
    harness.key_press(Key::Space);
    step_until(&mut harness, "the counter", |app| {
        app.is_playing() && app.playback_count().is_some_and(|c| c.due > 3)
    });
    harness.run_steps(1);
    harness.get_by_label_contains("dropped ");
    step_until(&mut harness, "the end of the clip", |app| !app.is_playing());
    let count = harness.state().playback_count().expect("a count");
    assert_eq!(count.due, 132, "every frame of the clip came due");
    // Each test step advances the clock 0.25 s (7-8 frames at 30 fps): most frames are
    // skipped, and the counter says so; the frames that did arrive are not counted.
    assert!(
        count.dropped > 60 && count.dropped < 132,
        "dropped {}",
        count.dropped
    );
}

// Issue 23: what a new user found in the app.

#[test]
fn an_offset_before_b_s_first_frame_says_no_partner_and_drops_the_old_scores() {
    let (a, b) = (common::h264_mp4(), compare_b());
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(a), &clipboard, PlayerOptions::default());
    step_until(&mut harness, "A's first frame", showing(0));
    apply(
        &mut harness,
        Command::Compare(framekit::gui::compare_view::CompareCommand::OpenB(b)),
    );
    step_until(&mut harness, "B's first frame", b_showing(0));
    step_until(&mut harness, "the pair's RGB PSNR", |app| {
        app.compare()
            .and_then(|c| c.rgb_psnr)
            .is_some_and(|(a, b, _)| (a, b) == (0, 0))
    });
    harness.run_steps(2);
    harness.get_by_label_contains("RGB PSNR");

    harness.key_press(Key::OpenBracket);
    harness.run_steps(4);
    harness.get_by_label(
        "no partner frame: A 1 with offset -1 is before B's first frame; ] and [ move the offset",
    );
    assert!(harness.query_by_label("scoring this pair…").is_none());
    assert!(
        harness.query_by_label_contains("RGB PSNR").is_none(),
        "the previous pair's RGB PSNR is gone"
    );
    let compare = harness.state().compare().expect("compare");
    assert!(compare.rgb_psnr.is_none() && compare.b_shown.is_none());

    // Back to offset 0: B's frame and its scores return.
    harness.key_press(Key::CloseBracket);
    step_until(&mut harness, "B's first frame again", b_showing(0));
    step_until(&mut harness, "the RGB PSNR again", |app| {
        app.compare()
            .and_then(|c| c.rgb_psnr)
            .is_some_and(|(a, b, _)| (a, b) == (0, 0))
    });
}

fn picture_scale(app: &FramekitApp) -> f32 {
    let shown = app.screen().shown.as_ref().expect("a frame");
    app.view()
        .zoom
        .scale_for(shown.frame.width, shown.frame.height, app.view().last_view)
}

#[test]
fn ctrl_minus_and_ctrl_equals_scale_only_the_picture() {
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(
        Some(common::h264_mp4()),
        &clipboard,
        PlayerOptions::default(),
    );
    step_until(&mut harness, "the first frame", showing(0));
    harness.run_steps(2);
    let fit = picture_scale(harness.state());
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Minus);
    harness.run_steps(2);
    assert_eq!(
        harness.ctx.zoom_factor(),
        1.0,
        "the interface keeps its size"
    );
    let smaller = picture_scale(harness.state());
    assert!((smaller - fit * 0.8).abs() < 1e-3, "{fit} -> {smaller}");
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Equals);
    harness.run_steps(2);
    assert_eq!(harness.ctx.zoom_factor(), 1.0);
    assert!((picture_scale(harness.state()) - smaller * 1.25).abs() < 1e-3);
    // Ctrl+Shift+plus (plus takes Shift on many keyboards) zooms the picture too.
    harness.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Plus);
    harness.run_steps(2);
    assert_eq!(harness.ctx.zoom_factor(), 1.0);
    assert!((picture_scale(harness.state()) - smaller * 1.25 * 1.25).abs() < 1e-3);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Num0);
    harness.run_steps(2);
    assert_eq!(harness.ctx.zoom_factor(), 1.0);
    assert_eq!(
        harness.state().view().zoom,
        framekit::gui::viewer::Zoom::Fit
    );
}

#[test]
fn the_paste_panel_scrolls_a_long_text_and_opens_without_a_stale_error() {
    use base64::Engine;
    let clipboard = MemoryClipboard::default();
    clipboard.put(ClipboardContent::Text("eyJhIjogMX0=".to_string()));
    let mut harness = harness(None, &clipboard, PlayerOptions::default());
    harness.step();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::V);
    step_until(&mut harness, "the Ctrl+V error", |app| {
        app.messages().error.is_some()
    });
    let stale = harness.state().messages().error.clone().expect("error");
    apply(&mut harness, Command::TogglePastePanel);
    harness.run_steps(3);
    harness.get_by_label("Base64 text");
    assert!(
        harness.query_by_label(&stale).is_none(),
        "the panel opens without the Ctrl+V error"
    );

    // 97 KB of base64 that is no image: the box scrolls, the answer stays in view.
    let bytes: Vec<u8> = (0..72_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let long = base64::engine::general_purpose::STANDARD.encode(bytes);
    assert!(long.len() > 95_000);
    harness.get_by_label("Base64 text").click();
    harness.step();
    harness.get_by_label("Base64 text").type_text(&long);
    step_until(&mut harness, "the paste's answer", |app| {
        app.messages().error.as_deref().is_some_and(|e| e != stale)
    });
    harness.run_steps(3);
    let answer = harness.state().messages().error.clone().expect("error");
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1100.0, 700.0));
    let shown = harness.get_by_label(&answer).rect();
    assert!(window.contains_rect(shown), "the answer at {shown:?}");
    let count = harness
        .get_by_label(&format!("{} characters", long.len()))
        .rect();
    assert!(window.contains_rect(count), "the count at {count:?}");
}

#[test]
fn small_windows_give_the_picture_the_space_and_keep_status_and_errors_whole() {
    for size in [[800.0, 600.0], [480.0, 320.0]] {
        let queue = tempfile::tempdir()
            .expect("tempdir")
            .keep()
            .join("queue.sqlite");
        let mut harness = Harness::builder().with_size(size).build_eframe(move |cc| {
            let mut options = AppOptions::new(Box::new(MemoryClipboard::default()));
            options.file = Some(common::h264_mp4());
            options.queue = framekit::jobs::QueueLocation::Sqlite(queue);
            FramekitApp::with_options(&cc.egui_ctx, options)
        });
        step_until(&mut harness, "the first frame", showing(0));
        harness.run_steps(2);
        let controls = harness.get_by_label("Go to").rect();
        apply(
            &mut harness,
            Command::ShowError(
                "go to: \"abc\" is neither a frame number (1-132) nor a time like 4.9s or 1:02.5"
                    .to_string(),
            ),
        );
        harness.run_steps(4);
        let view = harness
            .state()
            .view()
            .last_view
            .expect("the picture's rectangle");
        assert!(
            view.width() >= 0.6 * size[0],
            "{size:?}: the picture gets {} px of {}",
            view.width(),
            size[0]
        );
        let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(size[0], size[1]));
        for label in ["frame 1 / 132", "exact"] {
            let rect = harness.get_by_label(label).rect();
            assert!(window.contains_rect(rect), "{size:?}: {label} at {rect:?}");
        }
        let error = harness.get_by_label_contains("Error: go to").rect();
        assert!(
            window.contains_rect(error),
            "{size:?}: the error at {error:?}"
        );
        // An error showing up moves no control (a click aimed at one would miss).
        assert_eq!(harness.get_by_label("Go to").rect(), controls, "{size:?}");
    }
}

/// The app in a window of `size`, with typed-path boxes instead of file dialogs, its job table
/// at `queue` and its output folder as last chosen.
fn app_in(
    size: [f32; 2],
    file: Option<PathBuf>,
    queue: PathBuf,
    output_dir: Option<PathBuf>,
) -> Harness<'static, FramekitApp> {
    Harness::builder().with_size(size).build_eframe(move |cc| {
        let mut options = AppOptions::new(Box::new(MemoryClipboard::default()));
        options.file = file;
        options.queue = framekit::jobs::QueueLocation::Sqlite(queue);
        options.native_dialogs = false;
        options.output_dir = output_dir;
        FramekitApp::with_options(&cc.egui_ctx, options)
    })
}

/// A one-second clip for transcode tests.
fn small_clip(name: &str) -> PathBuf {
    common::fixture(
        name,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=160x120:r=25:d=1",
            "-c:v",
            "libx264",
        ],
    )
}

fn all_succeeded(count: usize) -> impl Fn(&FramekitApp) -> bool {
    move |app| {
        let panel = app.transcode();
        panel.rows().len() == count
            && panel
                .rows()
                .values()
                .all(|r| r.status == framekit::jobs::JobStatus::Succeeded)
            && !panel.is_running()
    }
}

/// Types `text` into the typed-path box, replacing what it holds.
fn type_path(harness: &mut Harness<'_, FramekitApp>, text: &str) {
    harness.get_by_label("Path").click();
    harness.step();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.get_by_label("Path").type_text(text);
    harness.step();
}

#[test]
fn a_bad_file_in_a_batch_is_refused_with_its_reason_and_the_good_files_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let queue = dir.path().join("queue.sqlite");
    let mut harness = app_in([1100.0, 700.0], None, queue.clone(), Some(out.clone()));
    let a = small_clip("gui_batch_a.mp4");
    let b = common::vp9_webm();
    let nope = dir.path().join("nope.mp4");
    let png = dir.path().join("still.png");
    std::fs::write(&png, common::claimed_png(4, 4, 2)).expect("png");
    let log = dir.path().join("run.log");
    std::fs::write(&log, b"a log").expect("log");
    let fake = dir.path().join("fake.mp4");
    std::fs::write(&fake, b"not a video at all").expect("fake");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("folder");
    apply(
        &mut harness,
        Command::Panel(PanelCommand::AddFiles(vec![
            a, nope, b, png, log, fake, empty,
        ])),
    );
    step_until(&mut harness, "the added files checked", |app| {
        !app.transcode().is_checking() && !app.transcode().staged().is_empty()
    });
    harness.run_steps(2);
    let staged: Vec<_> = harness
        .state()
        .transcode()
        .staged()
        .iter()
        .map(|f| f.path.file_name().expect("name").to_owned())
        .collect();
    assert_eq!(staged, ["gui_batch_a.mp4", "vp9.webm"], "the good files");
    harness.get_by_label("5 refused (not added):");
    harness.get_by_label("nope.mp4: not found");
    harness.get_by_label("still.png: not a video file (.png)");
    harness.get_by_label("run.log: not a video file (.log)");
    harness.get_by_label_contains("fake.mp4: not a video FFmpeg can read");
    harness.get_by_label("empty: a folder without video files");

    harness.get_by_label("Start (2)").click();
    step_until(&mut harness, "both good files transcoded", all_succeeded(2));
    assert!(out.join("gui_batch_a.mp4").exists() && out.join("vp9.mp4").exists());
    assert!(harness.state().transcode().staged().is_empty());
    assert_eq!(harness.state().transcode().refused().len(), 5, "still said");
    // No job sits in the queue unshown.
    let mut store = framekit::jobs::QueueLocation::Sqlite(queue)
        .open()
        .expect("queue");
    let counts = store.counts().expect("counts");
    assert_eq!((counts.total(), counts.succeeded), (2, 2), "{counts}");
}

#[test]
fn retrying_a_cancelled_job_shows_its_real_state_and_its_speed() {
    use framekit::jobs::JobStatus;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut harness = app_in(
        [1100.0, 700.0],
        None,
        dir.path().join("queue.sqlite"),
        Some(dir.path().join("out")),
    );
    let clip = common::fixture(
        "gui_retry_60s.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=25:d=60",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    );
    stage_and_start(&mut harness, clip);
    step_until(&mut harness, "the job running", |app| {
        app.transcode()
            .rows()
            .values()
            .any(|r| r.status == JobStatus::Processing && r.fraction > 0.0)
    });
    harness.run_steps(2);
    harness.get_by_label("cancel").click();
    step_until(&mut harness, "the job cancelled", |app| {
        let panel = app.transcode();
        !panel.is_running()
            && panel
                .rows()
                .values()
                .all(|r| r.status == JobStatus::Cancelled)
    });
    harness.run_steps(2);
    harness.get_by_label("cancelled");

    harness.get_by_label("Retry failed").click();
    // The click is applied after this frame is drawn.
    harness.step();
    // While it runs again the row says so, with its speed and time left.
    let mut saw_speed = false;
    for _ in 0..STEP_LIMIT {
        harness.step();
        saw_speed |= harness.query_by_label_contains("s left").is_some();
        if all_succeeded(1)(harness.state()) {
            break;
        }
        assert!(
            harness.query_by_label("cancelled").is_none()
                || harness
                    .state()
                    .transcode()
                    .rows()
                    .values()
                    .all(|r| r.status == JobStatus::Cancelled),
            "a retried job is not shown as cancelled"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(all_succeeded(1)(harness.state()), "the retry finished");
    assert!(saw_speed, "speed and time left were shown while it ran");
    harness.run_steps(2);
    harness.get_by_label("succeeded");
    harness.get_by_label_contains("done in");
    assert!(harness.query_by_label("cancelled").is_none());
}

#[test]
fn a_folder_added_in_the_app_is_walked_as_the_cli_walks_it() {
    use framekit::gui::dialogs::PathPurpose;
    let dir = tempfile::tempdir().expect("tempdir");
    let clips = dir.path().join("clips");
    std::fs::create_dir_all(clips.join("sub")).expect("folders");
    std::fs::copy(
        small_clip("gui_walk_one.mp4"),
        clips.join("sub").join("one.mp4"),
    )
    .expect("copy");
    std::fs::copy(common::h264_mkv(), clips.join("two.mkv")).expect("copy");
    std::fs::write(clips.join("notes.txt"), b"notes").expect("notes");
    let out = dir.path().join("out");
    let mut harness = app_in(
        [1100.0, 700.0],
        None,
        dir.path().join("queue.sqlite"),
        Some(out.clone()),
    );
    apply(&mut harness, Command::Transcode(Vec::new()));
    harness.run_steps(2);
    harness.get_by_label("Add folder…").click();
    step_until(&mut harness, "the typed-path box", |app| {
        app.path_prompt() == Some(PathPurpose::AddFolder)
    });
    harness.run_steps(2);
    type_path(&mut harness, &clips.display().to_string());
    harness.get_by_label("Choose").click();
    step_until(&mut harness, "the folder walked", |app| {
        !app.transcode().is_checking() && app.transcode().staged().len() == 2
    });
    let mut staged: Vec<PathBuf> = harness
        .state()
        .transcode()
        .staged()
        .iter()
        .map(|f| f.path.clone())
        .collect();
    staged.sort();
    assert_eq!(
        staged,
        [clips.join("sub").join("one.mp4"), clips.join("two.mkv")]
    );
    assert!(harness.state().transcode().refused().is_empty());
    harness.run_steps(2);
    harness.get_by_label("Start (2)").click();
    step_until(
        &mut harness,
        "the folder's videos transcoded",
        all_succeeded(2),
    );
    // Outputs keep the folder's layout, as `framekit transcode DIR --out OUT` writes them.
    assert!(out.join("sub").join("one.mp4").exists());
    assert!(out.join("two.mp4").exists());
}

/// eframe's storage in memory.
#[derive(Default)]
struct MemoryStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }

    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }

    fn flush(&mut self) {}
}

#[test]
fn unfinished_jobs_are_offered_at_start_up_and_the_output_folder_is_remembered() {
    use eframe::App;
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = dir.path().join("queue.sqlite");
    let left = dir.path().join("earlier").join("left.mp4");
    {
        let mut store = framekit::jobs::QueueLocation::Sqlite(queue.clone())
            .open()
            .expect("queue");
        store
            .enqueue(
                &small_clip("gui_left_over.mp4"),
                framekit::transcode::Preset::DEFAULT.name,
                &left,
                false,
            )
            .expect("enqueue");
    }
    let chosen = dir.path().join("chosen");
    let mut harness = app_in([1100.0, 700.0], None, queue, Some(chosen.clone()));
    step_until(&mut harness, "the offer to resume", |app| {
        app.transcode().is_open() && app.transcode().unfinished().len() == 1
    });
    harness.run_steps(2);
    harness.get_by_label("1 job(s) were left unfinished last time.");
    harness.get_by_label("Not now");
    // The folder chosen last time is the output folder again.
    harness.get_by_label(&chosen.display().to_string());
    harness.get_by_label("Resume").click();
    step_until(&mut harness, "the resumed job", all_succeeded(1));
    assert!(left.exists());

    let mut storage = MemoryStorage::default();
    harness.state_mut().save(&mut storage);
    assert_eq!(
        eframe::get_value::<Option<PathBuf>>(&storage, "framekit.output_dir"),
        Some(Some(chosen))
    );
}

/// Steps until a widget labelled `label` shows (completion lists on a worker thread).
fn step_until_label(harness: &mut Harness<'_, FramekitApp>, label: &str) {
    for _ in 0..STEP_LIMIT {
        harness.step();
        if harness.query_by_label(label).is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("gave up waiting for the label {label:?}");
}

#[test]
fn tab_completes_the_common_prefix_says_when_the_list_is_capped_and_folders_pick_folders() {
    use framekit::gui::dialogs::PathPurpose;
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().display().to_string();
    std::fs::write(dir.path().join("clip_alpha.mp4"), b"x").expect("write");
    std::fs::write(dir.path().join("clip_beta.mp4"), b"x").expect("write");
    for i in 0..20 {
        std::fs::write(dir.path().join(format!("z_{i:02}.txt")), b"x").expect("write");
    }
    std::fs::create_dir(dir.path().join("sub_folder")).expect("folder");
    let mut harness = app_in([1100.0, 700.0], None, dir.path().join("queue.sqlite"), None);
    harness.step();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::O);
    step_until(&mut harness, "the typed-path box", |app| {
        app.path_prompt() == Some(PathPurpose::OpenFile)
    });
    harness.run_steps(2);
    type_path(&mut harness, &format!("{folder}/cl"));
    step_until_label(&mut harness, &format!("{folder}/clip_alpha.mp4"));
    harness.key_press(Key::Tab);
    harness.run_steps(2);
    assert_eq!(
        harness.get_by_label("Path").value().as_deref(),
        Some(format!("{folder}/clip_").as_str()),
        "Tab goes as far as both names agree"
    );
    harness.get_by_label(&format!("{folder}/clip_beta.mp4"));

    type_path(&mut harness, &format!("{folder}/z"));
    step_until_label(
        &mut harness,
        "showing 12 of 20 matches; type more of the name to narrow them",
    );

    // The output folder's box lists folders only.
    apply(&mut harness, Command::Panel(PanelCommand::PickOutputFolder));
    step_until(&mut harness, "the output folder's box", |app| {
        app.path_prompt() == Some(PathPurpose::OutputFolder)
    });
    harness.run_steps(2);
    type_path(&mut harness, &format!("{folder}/"));
    step_until_label(&mut harness, &format!("{folder}/sub_folder/"));
    assert!(
        harness
            .query_by_label(&format!("{folder}/clip_alpha.mp4"))
            .is_none()
    );
    assert!(harness.query_by_label_contains("matches").is_none());
}

#[test]
fn go_to_says_when_a_frame_number_is_out_of_range_instead_of_clamping_it() {
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(
        Some(common::h264_mp4()),
        &clipboard,
        PlayerOptions::default(),
    );
    step_until(&mut harness, "the first frame", showing(0));
    harness.key_press(Key::ArrowRight);
    step_until(&mut harness, "frame 2", showing(1));
    for typed in ["999", "0"] {
        harness.get_by_label("Go to").click();
        harness.step();
        harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
        harness.get_by_label("Go to").type_text(typed);
        harness.key_press(Key::Enter);
        harness.run_steps(3);
        harness.get_by_label(&format!(
            "Error: go to: there is no frame {typed}; frames are numbered 1-132"
        ));
        assert_eq!(harness.state().screen().target, 1, "{typed}: nothing moved");
    }
}

#[test]
fn the_view_menu_zooms_the_picture_and_shows_the_shortcuts() {
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(
        Some(common::h264_mp4()),
        &clipboard,
        PlayerOptions::default(),
    );
    step_until(&mut harness, "the first frame", showing(0));
    harness.run_steps(2);
    let fit = picture_scale(harness.state());
    harness.get_by_label("View").click();
    harness.run_steps(2);
    harness.get_by_label_contains("Ctrl+-");
    harness.get_by_label_contains("Ctrl+0");
    harness.get_by_label_contains("Zoom out").click();
    harness.run_steps(2);
    assert!((picture_scale(harness.state()) - fit * 0.8).abs() < 1e-3);
}

#[test]
fn a_note_leaves_the_status_line_after_a_few_seconds() {
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(
        Some(common::h264_mp4()),
        &clipboard,
        PlayerOptions::default(),
    );
    step_until(&mut harness, "the first frame", showing(0));
    harness.run_steps(2);
    harness.get_by_label_contains("opened ");
    // Each step is 1/60 s of UI time.
    let steps = (framekit::gui::state::NOTE_SECONDS * 60.0) as usize + 30;
    harness.run_steps(steps);
    assert!(harness.state().messages().note.is_none());
    assert!(harness.query_by_label_contains("opened ").is_none());
    harness.get_by_label("exact");
}

#[test]
fn the_wheel_zooms_in_fine_steps_and_stops_at_200_and_100_percent() {
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(
        Some(common::h264_mp4()),
        &clipboard,
        PlayerOptions::default(),
    );
    step_until(&mut harness, "the first frame", showing(0));
    harness.run_steps(2);
    let view = harness.state().view().last_view.expect("the view");
    let mut scales = vec![picture_scale(harness.state())];
    assert!(scales[0] > 2.0, "fit: {}", scales[0]);
    for _ in 0..12 {
        let input = harness.input_mut();
        input.events.push(egui::Event::PointerMoved(view.center()));
        input.events.push(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Line,
            delta: egui::vec2(0.0, -1.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: Modifiers::NONE,
        });
        harness.run_steps(2);
        scales.push(picture_scale(harness.state()));
    }
    for pair in scales.windows(2) {
        let ratio = pair[1] / pair[0];
        assert!(
            (0.83..1.0).contains(&ratio),
            "one notch out is a fine step: {scales:?}"
        );
    }
    for stop in [2.0, 1.0] {
        assert!(
            scales.iter().any(|s| (s - stop).abs() < 1e-6),
            "the wheel stops at {stop}: {scales:?}"
        );
    }
}

#[test]
fn h_keeps_the_frame_and_the_filmstrip_on_screen_while_the_file_reopens() {
    let clip = common::pq_x264();
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(clip), &clipboard, PlayerOptions::default());
    step_until(&mut harness, "the first frame and the filmstrip", |app| {
        app.screen().is_showing(0) && !app.screen().thumbnails.is_empty()
    });
    harness.key_press(Key::ArrowRight);
    step_until(&mut harness, "frame 2", showing(1));
    let media_id = harness.state().screen().media.as_ref().map(|m| m.media_id);
    harness.key_press(Key::H);
    for _ in 0..STEP_LIMIT {
        harness.step();
        let screen = harness.state().screen();
        assert!(
            screen.shown.is_some() && !screen.thumbnails.is_empty(),
            "the picture and the filmstrip never blank"
        );
        let reopened = screen.media.as_ref().map(|m| m.media_id) != media_id;
        if reopened && screen.is_showing(1) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("gave up waiting for frame 2 as tagged");
}

#[test]
fn a_paste_keeps_the_file_it_replaced_one_step_back() {
    let clip = common::h264_mp4();
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(clip.clone()), &clipboard, PlayerOptions::default());
    step_until(&mut harness, "the first frame", showing(0));
    apply(&mut harness, Command::Goto(4));
    step_until(&mut harness, "frame 5", showing(4));
    let pasted = framekit::get_frames(&clip, "3").expect("a frame");
    apply(&mut harness, Command::PasteText(pasted));
    step_until(&mut harness, "the pasted image", |app| {
        app.screen().media.as_ref().is_some_and(|m| m.info.pasted) && app.screen().is_showing(0)
    });
    assert_eq!(harness.state().before_paste(), Some(clip.as_path()));
    harness.get_by_label("File").click();
    harness.run_steps(2);
    harness.get_by_label("Back to h264_bframes.mp4").click();
    step_until(&mut harness, "the file again, on frame 5", |app| {
        app.screen()
            .media
            .as_ref()
            .is_some_and(|m| !m.info.pasted && m.info.path.ends_with("h264_bframes.mp4"))
            && app.screen().is_showing(4)
    });
    assert!(harness.state().before_paste().is_none());
}

#[test]
fn s_shows_the_scopes_of_the_frame_on_screen() {
    use framekit::media::scope::{ScopeKind, bar_targets, vector_cell};
    use framekit::player::scopes::ScopeSide;
    // A 75% blue patch (BT.709, limited range): its chroma lands on the blue target.
    let clip = common::colour_patch([0, 0, 191]);
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(clip), &clipboard, PlayerOptions::default());
    step_until(&mut harness, "the first frame", showing(0));
    assert!(!harness.state().scopes().is_open());
    assert!(harness.query_by_label("Vectorscope").is_none());

    harness.key_press(Key::S);
    step_until(&mut harness, "the scopes of frame 1", |app| {
        app.scopes().shown(ScopeSide::A).is_some()
    });
    harness.run_steps(2);
    harness.get_by_label("Scopes");
    harness.get_by_label("Vectorscope");
    harness.get_by_label("waveform in % of the signal range");
    let app = harness.state();
    let scopes = app.scopes().shown(ScopeSide::A).expect("scopes");
    assert_eq!(scopes.index, 0);
    let vectorscope = scopes.image(ScopeKind::Vectorscope).expect("a vectorscope");
    let [width, height] = vectorscope.size;
    // The trace (green, brightest where most pixels land) sits on the BT.709 blue target.
    let trace: Vec<(usize, usize)> = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let [r, g, b, _] = vectorscope.pixels[y * width + x].to_array();
            g > 150 && r < g && b < g
        })
        .collect();
    let (cb, cr) = bar_targets(0.2126, 0.0722)[2];
    let (tx, ty) = vector_cell(cb, cr);
    assert!(!trace.is_empty(), "no trace on the vectorscope");
    for (x, y) in &trace {
        assert!(
            x.abs_diff(tx) <= 2 && y.abs_diff(ty) <= 2,
            "trace at ({x}, {y}), target ({tx}, {ty})"
        );
    }
    // Every scope is there as a texture-backed image.
    for kind in ScopeKind::ALL {
        assert!(scopes.image(kind).is_some(), "{kind:?}");
    }

    // S again hides the panel.
    harness.key_press(Key::S);
    harness.run_steps(2);
    assert!(!harness.state().scopes().is_open());
    assert!(harness.query_by_label("Vectorscope").is_none());
}

#[test]
fn playback_shows_frames_at_display_size_and_pausing_brings_the_full_frame() {
    // 1280x720 in a 1100x700 window: fitted, the picture is shown smaller than it is.
    let clip = common::solid_720p_untagged();
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(clip.clone()), &clipboard, PlayerOptions::default());
    step_until(&mut harness, "the first frame", showing(0));
    harness.run_steps(2);
    let scale = |app: &FramekitApp| {
        let shown = app.screen().shown.as_ref().expect("a frame");
        let (w, h) = shown.full_size;
        app.view().zoom.scale_for(w, h, app.view().last_view)
    };
    let fitted = scale(harness.state());
    assert!(fitted < 1.0, "the window shows the clip at {fitted}");
    assert!(
        !harness
            .state()
            .screen()
            .shown
            .as_ref()
            .expect("frame")
            .is_reduced()
    );

    // Played to the end (each test step moves the clock 0.25 s): the frames that arrive while
    // playing are converted at display size, in the same place and scale on screen; once
    // playback stops, the frame on screen comes again at full size.
    harness.key_press(Key::Space);
    let reduced_seen = std::cell::Cell::new(0usize);
    step_until(&mut harness, "the end, paused at full size", |app| {
        let Some(shown) = app.screen().shown.as_ref() else {
            return false;
        };
        if shown.exact && shown.is_reduced() {
            reduced_seen.set(reduced_seen.get() + 1);
            assert_eq!(shown.full_size, (1280, 720));
            assert!(shown.frame.width < 1280 && shown.frame.height < 720);
            assert_eq!(scale(app), fitted);
        }
        !app.is_playing()
            && shown.exact
            && shown.index == app.screen().target
            && !shown.is_reduced()
            && shown.index > 0
    });
    assert!(reduced_seen.get() > 0, "no frame came at display size");
    let target = harness.state().screen().target;
    assert_eq!(shown_pixels(&harness), library_frame(&clip, target));
}

#[test]
fn a_held_key_steps_at_display_size_and_the_frame_it_stops_on_comes_at_full_size() {
    // 1280x720 fitted in a 1100x700 window: shown at well under half its pixels.
    let clip = common::solid_720p_untagged();
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(clip.clone()), &clipboard, PlayerOptions::default());
    step_until(&mut harness, "the first frame", showing(0));
    harness.run_steps(2);

    // One press: a single step, asked for at full size at once.
    harness.key_press(Key::ArrowRight);
    step_until(&mut harness, "frame 2", showing(1));
    let shown = harness.state().screen().shown.as_ref().expect("a frame");
    assert!(!shown.is_reduced(), "a single step comes at full size");

    // Held: a press and its repeats within one UI frame are a move. Its frames come at the
    // view's size; the one it stops on is asked for again at full size once it settles.
    harness.input_mut().events.push(right_press(false));
    for _ in 0..3 {
        harness.input_mut().events.push(right_press(true));
    }
    harness.step();
    assert_eq!(harness.state().screen().target, 5);
    let reduced_seen = std::cell::Cell::new(false);
    step_until(&mut harness, "frame 6 at full size", |app| {
        let Some(shown) = app.screen().shown.as_ref() else {
            return false;
        };
        if shown.index == 5 && shown.exact && shown.is_reduced() {
            reduced_seen.set(true);
            assert_eq!(shown.full_size, (1280, 720));
            assert!(shown.frame.width < 1280 && shown.frame.height < 720);
        }
        app.screen().is_showing(5) && !shown.is_reduced()
    });
    assert!(
        reduced_seen.get(),
        "the held key's last frame never came at display size"
    );
    assert_eq!(shown_pixels(&harness), library_frame(&clip, 5));
}

#[test]
fn while_comparing_the_scopes_show_a_and_b() {
    use framekit::gui::compare_view::CompareCommand;
    use framekit::media::scope::{ScopeKind, bar_targets, vector_cell};
    use framekit::player::scopes::ScopeSide;
    // A blue patch against a green one: each side's vectorscope trace on its own target.
    let (a, b) = (
        common::colour_patch([0, 0, 191]),
        common::colour_patch([0, 191, 0]),
    );
    let clipboard = MemoryClipboard::default();
    let mut harness = harness(Some(a), &clipboard, PlayerOptions::default());
    step_until(&mut harness, "A's first frame", showing(0));
    apply(&mut harness, Command::Compare(CompareCommand::OpenB(b)));
    step_until(&mut harness, "B's first frame", b_showing(0));
    harness.key_press(Key::S);
    step_until(&mut harness, "the scopes of A and B", |app| {
        app.scopes().shown(ScopeSide::A).is_some() && app.scopes().shown(ScopeSide::B).is_some()
    });
    let targets = bar_targets(0.2126, 0.0722);
    for (side, bar) in [(ScopeSide::A, 2), (ScopeSide::B, 4)] {
        let scopes = harness.state().scopes().shown(side).expect("scopes");
        let image = scopes.image(ScopeKind::Vectorscope).expect("a vectorscope");
        let [width, height] = image.size;
        let (cb, cr) = targets[bar];
        let (tx, ty) = vector_cell(cb, cr);
        let trace: Vec<(usize, usize)> = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let [r, g, b, _] = image.pixels[y * width + x].to_array();
                g > 150 && r < g && b < g
            })
            .collect();
        assert!(!trace.is_empty(), "{side:?}: no trace");
        assert!(
            trace
                .iter()
                .all(|(x, y)| x.abs_diff(tx) <= 2 && y.abs_diff(ty) <= 2),
            "{side:?}: trace {trace:?}, target ({tx}, {ty})"
        );
    }
}
