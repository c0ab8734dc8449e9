//! Scopes: on patches of known colour (the 75% bars, each made by ffmpeg's `color` source,
//! converted with the BT.709 matrix and losslessly coded) each patch's luma lands on the waveform row and
//! its chroma on the vectorscope cell the matrix maths gives; PQ streams get a graticule in
//! nits; `framekit scope` writes the PNGs and keeps existing files unless `--force`.

mod common;

use framekit::media::color::Hdr;
use framekit::media::scope::{
    LEVEL_ROWS, ScopeData, ScopeKind, VECTOR_SIDE, bar_targets, signal_of_nits, vector_cell,
};
use framekit::media::{MediaSource, OpenOptions};

/// The 75% bars R, Mg, B, Cy, G, Yl (the order of [`bar_targets`]).
const BARS: [[u8; 3]; 6] = [
    [191, 0, 0],
    [191, 0, 191],
    [0, 0, 191],
    [0, 191, 191],
    [0, 191, 0],
    [191, 191, 0],
];

fn scopes_of(clip: &std::path::Path) -> ScopeData {
    let MediaSource::Video(mut reader) =
        MediaSource::open(clip, &OpenOptions::default()).expect("open")
    else {
        panic!("a video");
    };
    let color = reader.info().video.as_ref().expect("video").color.clone();
    let decoded = reader.decoded(0).expect("decode");
    let shown = reader.convert_decoded(0, &decoded).expect("convert");
    ScopeData::compute(&decoded, color.used, color.tagged.hdr, &shown).expect("scopes")
}

#[test]
fn bars_land_where_the_bt709_maths_says() {
    let (kr, kb) = (0.2126f32, 0.0722f32);
    for (bar, (colour, (cb, cr))) in BARS.iter().zip(bar_targets(kr, kb)).enumerate() {
        let data = scopes_of(&common::colour_patch(*colour));
        assert_eq!(data.waveform.len(), 64);
        // Waveform: every column holds its 64 pixels at Y's row (two rows of slack: a row is
        // 0.86 of an 8-bit code, and the fixture's RGB to YUV rounds).
        let [r, g, b] = colour.map(|v| f32::from(v) / 255.0);
        let luma = kr * r + (1.0 - kr - kb) * g + kb * b;
        let want_row = (luma * (LEVEL_ROWS - 1) as f32).round() as usize;
        for column in &data.waveform {
            let near: u32 = column[want_row.saturating_sub(2)..=want_row + 2]
                .iter()
                .sum();
            assert_eq!(near, 64, "bar {bar}: luma row {want_row}");
        }
        // Vectorscope: all pixels within two cells of the 75% target (191/255 is 0.749, a
        // fraction of a cell from 0.75; the fixture's rounding again).
        let (x, y) = vector_cell(cb, cr);
        let mut around = 0;
        for vy in y.saturating_sub(2)..=(y + 2).min(VECTOR_SIDE - 1) {
            for vx in x.saturating_sub(2)..=(x + 2).min(VECTOR_SIDE - 1) {
                around += data.vectorscope[vy * VECTOR_SIDE + vx];
            }
        }
        assert_eq!(around, 64 * 64, "bar {bar}: target cell ({x}, {y})");
        // The parade holds the patch at its own levels (within the round trip's 2 levels).
        for (c, &level) in colour.iter().enumerate() {
            let level = usize::from(level);
            let column = &data.parade[c][10];
            let near: u32 = column[level.saturating_sub(2)..=(level + 2).min(255)]
                .iter()
                .sum();
            let found: Vec<usize> = (0..256).filter(|&l| column[l] > 0).collect();
            assert_eq!(near, 64, "bar {bar} channel {c}: levels {found:?}");
        }
        // Every scope renders to an image of its size.
        for kind in ScopeKind::ALL {
            let image = data.render(kind);
            assert_eq!(image.rgba.len(), (image.width * image.height * 4) as usize);
        }
    }
}

#[test]
fn pq_waveform_graticule_reads_in_nits() {
    let data = scopes_of(&common::pq_x264());
    let hundred = data
        .graticule
        .iter()
        .find(|(_, label)| label == "100 nits")
        .expect("a 100-nit line");
    // PQ puts 100 nits at 0.508 of the signal range.
    let want = (signal_of_nits(Hdr::Pq, 100.0) * (LEVEL_ROWS - 1) as f32).round() as usize;
    assert_eq!(hundred.0, want);
    assert!((0.50..0.52).contains(&signal_of_nits(Hdr::Pq, 100.0)));
    assert!(data.graticule.iter().any(|(_, l)| l == "10000 nits"));
}

#[test]
fn the_scope_command_writes_pngs_and_keeps_existing_ones() {
    let temp = tempfile::tempdir().expect("tempdir");
    // A folder that does not exist yet is made, as `frames --out` makes it.
    let dir = temp.path().join("scopes").join("frame-1");
    let clip = common::colour_patch(BARS[0]);
    let run = |extra: &[&str]| {
        common::framekit_bin()
            .args(["scope", "--ids", "1", "--out"])
            .arg(&dir)
            .args(extra)
            .arg(&clip)
            .output()
            .expect("run framekit scope")
    };
    let first = run(&[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    for kind in ScopeKind::ALL {
        let path = dir.join(format!("scope_patch_bf0000_f1_{}.png", kind.name()));
        let image = image::open(&path).expect("a PNG");
        assert!(image.width() > 0);
    }
    let again = run(&["--kind", "waveform"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert!(run(&["--kind", "waveform", "--force"]).status.success());
    // No temporary names left behind.
    assert_eq!(std::fs::read_dir(&dir).expect("list").count(), 4);
}

/// The scope images as RGBA frames (what the app gets as textures, headless).
struct Pixels(framekit::Frame);

impl framekit::frame::FrameImage for Pixels {
    fn from_frame(frame: &framekit::Frame) -> Self {
        Pixels(frame.clone())
    }
}

/// A request for the scopes of frame 0 of a patch clip, as the app sends it (the player's
/// shown frame and decoded samples).
fn request_for(
    clip: &std::path::Path,
    side: framekit::player::scopes::ScopeSide,
) -> framekit::player::scopes::ScopeRequest {
    let MediaSource::Video(mut reader) =
        MediaSource::open(clip, &OpenOptions::default()).expect("open")
    else {
        panic!("a video");
    };
    let color = reader.info().video.as_ref().expect("video").color.clone();
    let (frame, samples) = reader.frame_with_samples(0).expect("frame");
    framekit::player::scopes::ScopeRequest {
        side,
        samples: std::sync::Arc::new(samples.expect("samples")),
        shown: std::sync::Arc::new(frame),
        planes: None,
        decision: color.used,
        hdr: color.tagged.hdr,
        sample_step: 1,
    }
}

/// Where the vectorscope image shows counts (its trace colour at full strength: every pixel
/// of a patch lands in one or two cells).
fn vectorscope_trace(scopes: &framekit::player::scopes::Scopes<Pixels>) -> Vec<(usize, usize)> {
    let image = scopes
        .images
        .iter()
        .find(|i| i.kind == ScopeKind::Vectorscope)
        .expect("a vectorscope");
    let frame = &image.image.0;
    let mut cells = Vec::new();
    for y in 0..frame.height {
        for x in 0..frame.width {
            let pixel = frame.rgba_at(x, y).expect("inside");
            // The trace is green (120, 255, 140) scaled by the count; graticule and targets
            // are grey, white and orange.
            if pixel[1] > 150 && pixel[0] < pixel[1] && pixel[2] < pixel[1] {
                cells.push((x as usize, y as usize));
            }
        }
    }
    cells
}

fn near(cells: &[(usize, usize)], (x, y): (usize, usize)) -> bool {
    !cells.is_empty()
        && cells
            .iter()
            .all(|&(cx, cy)| cx.abs_diff(x) <= 2 && cy.abs_diff(y) <= 2)
}

#[test]
fn the_scopes_worker_draws_the_newest_frame_of_each_side() {
    use framekit::player::scopes::{ScopeReply, ScopeSide, ScopeWorker};
    let (kr, kb) = (0.2126f32, 0.0722f32);
    let targets = bar_targets(kr, kb);
    let (red, blue, green) = (
        common::colour_patch(BARS[0]),
        common::colour_patch(BARS[2]),
        common::colour_patch(BARS[4]),
    );
    let worker: ScopeWorker<Pixels> = ScopeWorker::spawn(|| {});
    // A red then at once blue (the red one is superseded), B green.
    let first = worker.send(request_for(&red, ScopeSide::A)).expect("send");
    let newest = worker.send(request_for(&blue, ScopeSide::A)).expect("send");
    assert!(newest > first);
    assert!(!worker.is_current(ScopeSide::A, first));
    worker
        .send(request_for(&green, ScopeSide::B))
        .expect("send");
    let (mut a, mut b) = (None, None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while (a.is_none() || b.is_none()) && std::time::Instant::now() < deadline {
        match worker
            .recv_timeout(std::time::Duration::from_millis(200))
            .expect("alive")
        {
            Some(ScopeReply::Ready(scopes)) => match scopes.side {
                ScopeSide::A if scopes.generation == newest => a = Some(scopes),
                // A stale A can only have been delivered before the newest was asked for.
                ScopeSide::A => assert!(a.is_none(), "a stale result after the newest"),
                ScopeSide::B => b = Some(scopes),
            },
            Some(ScopeReply::Failed { error, .. }) => panic!("scopes failed: {error}"),
            None => {}
        }
    }
    let (a, b) = (a.expect("A's scopes"), b.expect("B's scopes"));
    assert_eq!(a.images.len(), ScopeKind::ALL.len());
    let (cb, cr) = targets[2];
    assert!(
        near(&vectorscope_trace(&a), vector_cell(cb, cr)),
        "A shows blue: {:?} against {:?}",
        vectorscope_trace(&a),
        vector_cell(cb, cr)
    );
    let (cb, cr) = targets[4];
    assert!(
        near(&vectorscope_trace(&b), vector_cell(cb, cr)),
        "B shows green: {:?}",
        vectorscope_trace(&b)
    );
    // SDR: the waveform's graticule is in % of the range, 0 at the bottom, 100% at the top.
    assert_eq!(
        a.graticule.first().map(|(h, l)| (*h, l.as_str())),
        Some((0.0, "0%"))
    );
    assert_eq!(a.graticule.last().map(|(h, _)| *h), Some(1.0));
}

/// The clip's reader, colour, first frame as decoded and that frame converted.
fn first_frame(
    clip: &std::path::Path,
) -> (
    Box<framekit::media::VideoReader>,
    framekit::media::probe::ColorInfo,
    ffmpeg_next::frame::Video,
    framekit::Frame,
) {
    let MediaSource::Video(mut reader) =
        MediaSource::open(clip, &OpenOptions::default()).expect("open")
    else {
        panic!("a video");
    };
    let color = reader.info().video.as_ref().expect("video").color.clone();
    let decoded = reader.decoded(0).expect("decode");
    let shown = reader.convert_decoded(0, &decoded).expect("convert");
    (reader, color, decoded, shown)
}

#[test]
fn a_display_size_frame_reads_the_same_parade_as_the_full_one() {
    // The player hands out frames at display size while playing: the parade reads each
    // decoded pixel's shown pixel at that scale, so a patch's levels stay where they are.
    let clip = common::colour_patch(BARS[5]);
    let (_, color, decoded, shown) = first_frame(&clip);
    let small = shown.thumbnail(16, 16);
    assert_eq!((small.width, small.height), (16, 16));
    let full = ScopeData::compute(&decoded, color.used, None, &shown).expect("scopes");
    let reduced = ScopeData::compute(&decoded, color.used, None, &small).expect("scopes");
    assert_eq!(full.histogram, reduced.histogram);
    assert_eq!(full.parade, reduced.parade);
}

/// The scopes the worker draws for `request` (waits up to a minute).
fn drawn(
    worker: &framekit::player::scopes::ScopeWorker<Pixels>,
    request: framekit::player::scopes::ScopeRequest,
) -> framekit::player::scopes::Scopes<Pixels> {
    use framekit::player::scopes::ScopeReply;
    let generation = worker.send(request).expect("send");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        match worker
            .recv_timeout(std::time::Duration::from_millis(200))
            .expect("alive")
        {
            Some(ScopeReply::Ready(scopes)) if scopes.generation == generation => return scopes,
            Some(ScopeReply::Failed { error, .. }) => panic!("scopes failed: {error}"),
            _ => {}
        }
    }
    panic!("no scopes within a minute");
}

#[test]
fn a_frame_the_gpu_display_draws_has_the_scopes_of_the_cpu_picture() {
    use framekit::player::scopes::{ScopeRequest, ScopeSide, ScopeWorker};
    use std::sync::Arc;
    // While the GPU display plays, the player sends planes and no RGB: the parade and the
    // histogram are then read from the CPU path's RGB of those planes, made on the scopes
    // thread. SDR bars and an HLG clip tone-mapped by the tables.
    let worker: ScopeWorker<Pixels> = ScopeWorker::spawn(|| {});
    for clip in [common::colour_patch(BARS[3]), common::hlg_x264()] {
        let (mut reader, color, decoded, _) = first_frame(&clip);
        let (shown, samples) = reader.frame_with_samples(0).expect("frame");
        let samples = Arc::new(samples.expect("samples"));
        let planes = Arc::new(reader.display_planes(&decoded).expect("planes"));
        assert_eq!(
            planes.tone.is_some(),
            color.tagged.hdr.is_some(),
            "HLG is tone-mapped"
        );
        let empty = framekit::Frame {
            pixels: Vec::new(),
            width: 0,
            height: 0,
            ..shown.clone()
        };
        let request = |shown: framekit::Frame, planes: Option<Arc<_>>| ScopeRequest {
            side: ScopeSide::A,
            samples: samples.clone(),
            shown: Arc::new(shown),
            planes,
            decision: color.used,
            hdr: color.tagged.hdr,
            sample_step: 1,
        };
        let cpu = drawn(&worker, request(shown.clone(), None));
        let gpu = drawn(&worker, request(empty.clone(), Some(planes.clone())));
        let blank = drawn(&worker, request(empty, None));
        for ((c, g), b) in cpu.images.iter().zip(&gpu.images).zip(&blank.images) {
            assert_eq!(c.kind, g.kind);
            assert!(
                c.image.0.pixels == g.image.0.pixels,
                "{:?} of {}",
                c.kind,
                clip.display()
            );
            if matches!(c.kind, ScopeKind::Parade | ScopeKind::Histogram) {
                assert!(
                    c.image.0.pixels != b.image.0.pixels,
                    "{:?} of {} does not read the RGB",
                    c.kind,
                    clip.display()
                );
            }
        }
    }
}

#[test]
fn sampled_scopes_read_a_quarter_of_the_pixels_and_land_in_the_same_places() {
    // While playing a large frame the player's scopes read every other row and column.
    let clip = common::colour_patch(BARS[1]);
    let (_, color, decoded, shown) = first_frame(&clip);
    let full = ScopeData::compute(&decoded, color.used, None, &shown).expect("scopes");
    let sampled =
        ScopeData::compute_sampled(&decoded, color.used, None, &shown, 2).expect("scopes");
    let (w, h) = (decoded.width() as u64, decoded.height() as u64);
    let total = |histogram: &[u32; 256]| histogram.iter().map(|&n| u64::from(n)).sum::<u64>();
    assert_eq!(total(&full.histogram[0]), w * h);
    assert_eq!(total(&sampled.histogram[0]), w.div_ceil(2) * h.div_ceil(2));
    let cells = |counts: &[u32]| -> Vec<usize> {
        counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, _)| i)
            .collect()
    };
    assert_eq!(cells(&full.vectorscope), cells(&sampled.vectorscope));
    for c in 0..4 {
        assert_eq!(cells(&full.histogram[c]), cells(&sampled.histogram[c]));
    }
}
