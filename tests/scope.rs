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

/// A 64x64 patch of one colour, converted to YUV 4:4:4 with the BT.709 matrix (limited
/// range), losslessly coded.
fn patch_clip([r, g, b]: [u8; 3]) -> std::path::PathBuf {
    let source = format!("color=c=0x{r:02X}{g:02X}{b:02X}:s=64x64:r=25:d=0.2");
    common::fixture(
        &format!("scope_patch_{r:02x}{g:02x}{b:02x}.mkv"),
        &[
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
            "-colorspace",
            "bt709",
            "-color_primaries",
            "bt709",
            "-color_trc",
            "bt709",
            "-color_range",
            "tv",
        ],
    )
}

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
        let data = scopes_of(&patch_clip(*colour));
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
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = patch_clip(BARS[0]);
    let run = |extra: &[&str]| {
        common::framekit_bin()
            .args(["scope", "--ids", "1", "--out"])
            .arg(dir.path())
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
        let path = dir
            .path()
            .join(format!("scope_patch_bf0000_f1_{}.png", kind.name()));
        let image = image::open(&path).expect("a PNG");
        assert!(image.width() > 0);
    }
    let again = run(&["--kind", "waveform"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert!(run(&["--kind", "waveform", "--force"]).status.success());
    // No temporary names left behind.
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 4);
}
