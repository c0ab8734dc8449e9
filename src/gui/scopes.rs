//! The scopes panel (S, View > Scopes): waveform (in nits for PQ and HLG), RGB parade,
//! vectorscope with BT.709 and BT.2020 targets, and histogram of the frame on screen, and
//! of B while comparing. The scopes are computed and drawn into images on
//! [`ScopeWorker`]'s thread (newest frame wins); the UI thread only sends the frames it
//! shows and uploads the images it gets back.

use std::sync::Arc;

use egui::{Color32, Rect, TextureHandle, TextureOptions, Vec2};

use super::command::Command;
use super::compare_view::CompareView;
use super::state::Screen;
use crate::frame::Frame;
use crate::media::MediaInfo;
use crate::media::color::SourceSamples;
use crate::media::display_planes::DisplayPlanes;
use crate::media::scope::ScopeKind;
use crate::player::scopes::{
    PLAYING_RATE, ScopeReply, ScopeRequest, ScopeSide, ScopeWorker, sample_step,
};

/// The scopes of one side, as uploaded.
pub struct ShownScopes {
    /// The frame (index) they are of.
    pub index: usize,
    /// One per [`ScopeKind::ALL`]: the texture and the image it was made from.
    pub textures: Vec<(ScopeKind, TextureHandle, Arc<egui::ColorImage>)>,
    /// The waveform's graticule: height from the bottom (0..1) and its label.
    pub graticule: Vec<(f32, String)>,
}

impl ShownScopes {
    /// The image of one scope.
    pub fn image(&self, kind: ScopeKind) -> Option<&egui::ColorImage> {
        self.textures
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map(|(_, _, image)| image.as_ref())
    }
}

/// One side's scopes: what was asked for and what is shown.
#[derive(Default)]
struct Side {
    /// The frame last sent to the worker, to send each frame once.
    requested: Option<Arc<Frame>>,
    /// The generation of that request; older replies are dropped.
    generation: u64,
    /// When (egui input time) it was sent: while playing, scopes follow at most
    /// [`PLAYING_RATE`] frames a second.
    sent_at: f64,
    shown: Option<ShownScopes>,
    /// Why this side has no scopes (an image, an RGB stream).
    note: Option<String>,
}

/// The scopes panel's state.
#[derive(Default)]
pub struct ScopesView {
    open: bool,
    /// Started the first time the panel opens.
    worker: Option<ScopeWorker<egui::ColorImage>>,
    sides: [Side; 2],
    error: Option<String>,
}

impl ScopesView {
    pub fn is_open(&self) -> bool {
        self.open
    }

    pub fn toggle(&mut self) {
        self.open = !self.open;
        if !self.open {
            // Reopened, the panel asks again for the frame then on screen.
            for side in &mut self.sides {
                side.requested = None;
            }
        }
    }

    /// The scopes shown for a side.
    pub fn shown(&self, side: ScopeSide) -> Option<&ShownScopes> {
        self.sides[slot(side)].shown.as_ref()
    }

    /// Sends the frames on screen (A, and B while comparing) that have no scopes yet, and
    /// uploads the scopes that came back.
    pub fn logic(&mut self, ctx: &egui::Context, screen: &Screen, compare: Option<&CompareView>) {
        if !self.open {
            return;
        }
        let worker = self.worker.get_or_insert_with(|| {
            let repaint = ctx.clone();
            ScopeWorker::spawn(move || repaint.request_repaint())
        });
        loop {
            match worker.try_recv() {
                Ok(Some(reply)) => receive(&mut self.sides, ctx, reply),
                Ok(None) => break,
                Err(e) => {
                    self.error = Some(format!("scopes: {e}"));
                    break;
                }
            }
        }
        let a = screen
            .shown
            .as_ref()
            .map(|s| (&s.frame, s.samples.as_ref(), s.planes.as_ref()));
        let a_info = screen.media.as_ref().map(|m| &m.info);
        let b = compare.and_then(|c| {
            c.b_shown
                .as_ref()
                .map(|b| (&b.frame, b.samples.as_ref(), None))
        });
        let b_info = compare.and_then(|c| c.b_info.as_ref());
        if compare.is_none() {
            self.sides[1] = Side::default();
        }
        for (side, frame, info) in [(ScopeSide::A, a, a_info), (ScopeSide::B, b, b_info)] {
            let Some((frame, samples, planes)) = frame else {
                continue;
            };
            let state = &mut self.sides[slot(side)];
            if state
                .requested
                .as_ref()
                .is_some_and(|r| Arc::ptr_eq(r, frame))
            {
                continue;
            }
            let now = ctx.input(|i| i.time);
            let since = now - state.sent_at;
            if screen.playing && state.requested.is_some() && since < 1.0 / PLAYING_RATE {
                ctx.request_repaint_after(std::time::Duration::from_secs_f64(
                    1.0 / PLAYING_RATE - since,
                ));
                continue;
            }
            state.requested = Some(frame.clone());
            state.sent_at = now;
            let sample_step = samples.map_or(1, |s| sample_step(s, screen.playing));
            match request_for(side, frame, samples, planes, info, sample_step) {
                Ok(request) => match worker.send(request) {
                    Ok(generation) => state.generation = generation,
                    // Busy: asked again next frame.
                    Err(crate::player::PlayerError::Busy) => state.requested = None,
                    Err(e) => self.error = Some(format!("scopes: {e}")),
                },
                Err(note) => {
                    state.shown = None;
                    state.note = Some(note);
                    // B's media info may come after its first frame: asked again next time.
                    if info.is_none() {
                        state.requested = None;
                    }
                }
            }
        }
    }
}

fn slot(side: ScopeSide) -> usize {
    match side {
        ScopeSide::A => 0,
        ScopeSide::B => 1,
    }
}

/// The request for a frame, or why it has no scopes.
fn request_for(
    side: ScopeSide,
    frame: &Arc<Frame>,
    samples: Option<&Arc<SourceSamples>>,
    planes: Option<&Arc<DisplayPlanes>>,
    info: Option<&MediaInfo>,
    sample_step: usize,
) -> Result<ScopeRequest, String> {
    let video = info.and_then(|i| i.video.as_ref());
    let (Some(samples), Some(video)) = (samples, video) else {
        return Err("scopes read the decoded YUV of a video; an image has none".to_string());
    };
    Ok(ScopeRequest {
        side,
        samples: samples.clone(),
        shown: frame.clone(),
        planes: planes.cloned(),
        decision: video.color.used,
        hdr: video.color.tagged.hdr,
        sample_step,
    })
}

fn receive(sides: &mut [Side; 2], ctx: &egui::Context, reply: ScopeReply<egui::ColorImage>) {
    match reply {
        ScopeReply::Ready(scopes) => {
            let side = &mut sides[slot(scopes.side)];
            if scopes.generation != side.generation {
                return;
            }
            let index = side.requested.as_ref().map_or(0, |f| f.index);
            let textures = scopes
                .images
                .into_iter()
                .map(|scope| {
                    let name = format!("scope-{:?}-{}", scopes.side, scope.kind.name());
                    let texture =
                        ctx.load_texture(name, scope.image.clone(), TextureOptions::LINEAR);
                    (scope.kind, texture, scope.image)
                })
                .collect();
            side.note = None;
            side.shown = Some(ShownScopes {
                index,
                textures,
                graticule: scopes.graticule,
            });
        }
        ScopeReply::Failed {
            side,
            generation,
            error,
        } => {
            let side = &mut sides[slot(side)];
            if generation == side.generation {
                side.shown = None;
                side.note = Some(error.to_string());
            }
        }
    }
}

/// How wide each scope is drawn for its height (the parade squeezed to three squares).
fn aspect(kind: ScopeKind) -> f32 {
    match kind {
        ScopeKind::Waveform => 2.0,
        ScopeKind::Parade => 3.0,
        ScopeKind::Vectorscope => 1.0,
        ScopeKind::Histogram => 2.0,
    }
}

/// Draws the panel's contents: a row of scopes for A (and one for B while comparing).
#[must_use]
pub fn scopes_ui(
    ui: &mut egui::Ui,
    scopes: &ScopesView,
    comparing: bool,
    hdr_label: Option<&str>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.horizontal(|ui| {
        ui.heading("Scopes");
        ui.label(match hdr_label {
            Some(hdr) => format!("waveform in nits ({hdr})"),
            None => "waveform in % of the signal range".to_string(),
        });
        ui.label("vectorscope targets: BT.709 white, BT.2020 orange");
        if ui.button("Close  (S)").clicked() {
            commands.push(Command::ToggleScopes);
        }
    });
    if let Some(error) = &scopes.error {
        ui.colored_label(Color32::from_rgb(255, 110, 100), error);
    }
    let rows: &[ScopeSide] = if comparing {
        &[ScopeSide::A, ScopeSide::B]
    } else {
        &[ScopeSide::A]
    };
    // The scopes take about a quarter of the window's height (A and B share it while
    // comparing), and the four of a row share its width.
    let window = ui.ctx().content_rect().height();
    let row_height = (window * 0.25 / rows.len() as f32).clamp(64.0, 260.0);
    let total_aspect: f32 = ScopeKind::ALL.iter().map(|&k| aspect(k)).sum();
    let gaps = 12.0 * ScopeKind::ALL.len() as f32 + 24.0;
    let height = row_height.min((ui.available_width() - gaps) / total_aspect);
    for &side in rows {
        let state = &scopes.sides[slot(side)];
        ui.horizontal(|ui| {
            if comparing {
                ui.label(match side {
                    ScopeSide::A => "A",
                    ScopeSide::B => "B",
                });
            }
            match (&state.shown, &state.note) {
                (Some(shown), _) => {
                    for (kind, texture, _) in &shown.textures {
                        ui.vertical(|ui| {
                            ui.label(egui::RichText::new(caption(*kind)).size(11.0));
                            let size = Vec2::new(height * aspect(*kind), height);
                            let response = ui.add(
                                egui::Image::new((texture.id(), size))
                                    .alt_text(format!("{} scope", kind.name())),
                            );
                            if *kind == ScopeKind::Waveform {
                                graticule_labels(ui, response.rect, &shown.graticule);
                            }
                        });
                    }
                }
                (None, Some(note)) => {
                    ui.label(note);
                }
                (None, None) => {
                    ui.label("computing…");
                }
            }
        });
    }
    commands
}

fn caption(kind: ScopeKind) -> &'static str {
    match kind {
        ScopeKind::Waveform => "Waveform (luma)",
        ScopeKind::Parade => "RGB parade",
        ScopeKind::Vectorscope => "Vectorscope",
        ScopeKind::Histogram => "Histogram",
    }
}

/// The waveform's graticule labels ("100 nits", "50%") at their heights, small, at the
/// right edge, from the top down; a label that would overlap the one above it is left out.
fn graticule_labels(ui: &egui::Ui, rect: Rect, graticule: &[(f32, String)]) {
    const TEXT_HEIGHT: f32 = 10.0;
    let painter = ui.painter_at(rect);
    let font = egui::FontId::proportional(9.0);
    let mut lines: Vec<(f32, &String)> = graticule
        .iter()
        .map(|(height, label)| (rect.bottom() - height * rect.height(), label))
        .collect();
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut free_from = rect.top();
    for (y, label) in lines {
        // Above its line, unless that leaves the image (the top line's label goes under it).
        let (anchor, top) = if y - TEXT_HEIGHT < rect.top() {
            (egui::Align2::RIGHT_TOP, y)
        } else {
            (egui::Align2::RIGHT_BOTTOM, y - TEXT_HEIGHT)
        };
        if top < free_from {
            continue;
        }
        free_from = top + TEXT_HEIGHT;
        painter.text(
            egui::pos2(rect.right() - 2.0, y),
            anchor,
            label,
            font.clone(),
            Color32::from_rgb(220, 180, 90),
        );
    }
}
