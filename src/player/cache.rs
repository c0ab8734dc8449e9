//! The player's frame cache: decoded frames (and the samples behind them) under a memory
//! budget. Out first: the frame farthest from the playhead, frames it has passed counting
//! four times as far while it moves (so frames prefetched ahead of playback outlive the ones
//! shown), sparing the playhead and the frame used last; before any playhead, the least
//! recently used.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::frame::Frame;
use crate::media::color::SourceSamples;
use crate::media::display_planes::DisplayPlanes;

/// A decoded frame and the samples behind it.
#[derive(Clone)]
pub(super) struct Decoded {
    pub frame: Arc<Frame>,
    pub samples: Option<Arc<SourceSamples>>,
    /// The frame's full size (oriented); the frame itself is smaller when it was converted
    /// for display while playing.
    pub full_size: (u32, u32),
    /// The planes with their conversion's parameters, for a display that converts them
    /// itself (the GPU display); `frame` is empty when they came instead of RGB.
    pub planes: Option<Arc<DisplayPlanes>>,
}

impl Decoded {
    /// Converted at display size, smaller than the frame is.
    pub fn is_reduced(&self) -> bool {
        (self.frame.width, self.frame.height) != self.full_size
    }

    fn byte_size(&self) -> usize {
        // The planes are the samples' frame (another reference), counted once.
        let planes = match (&self.samples, &self.planes) {
            (None, Some(planes)) => planes.byte_size(),
            _ => 0,
        };
        self.frame.byte_size() + self.samples.as_ref().map_or(0, |s| s.byte_size()) + planes
    }
}

/// Decoded frames under a memory budget, farthest from the playhead out first.
pub(super) struct FrameCache {
    budget: usize,
    used: usize,
    frames: HashMap<usize, Decoded>,
    /// Least recently used first.
    order: VecDeque<usize>,
    /// The frame asked for last, and where it is heading.
    playhead: Option<(usize, Heading)>,
}

/// Which way the playhead moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Heading {
    Forward,
    Backward,
    /// A jump, or the first frame.
    Still,
}

/// Frames behind a moving playhead count this many times as far when choosing what to evict.
const PASSED_WEIGHT: usize = 4;

impl FrameCache {
    pub fn new(budget: usize) -> FrameCache {
        FrameCache {
            budget,
            used: 0,
            frames: HashMap::new(),
            order: VecDeque::new(),
            playhead: None,
        }
    }

    /// Says which frame is asked for now and where the playhead heads: eviction keeps the
    /// frames nearest to it, ahead of it first.
    pub fn set_playhead(&mut self, index: usize, heading: Heading) {
        self.playhead = Some((index, heading));
    }

    pub fn clear(&mut self) {
        self.frames.clear();
        self.order.clear();
        self.used = 0;
        self.playhead = None;
    }

    pub fn get(&mut self, index: usize) -> Option<Decoded> {
        let frame = self.frames.get(&index)?.clone();
        self.order.retain(|&i| i != index);
        self.order.push_back(index);
        Some(frame)
    }

    /// How many frames of the size cached last fit in the budget (`None` before the first).
    pub fn frames_that_fit(&self) -> Option<usize> {
        let last = self.order.back().and_then(|i| self.frames.get(i))?;
        Some(self.budget / last.byte_size().max(1))
    }

    pub fn contains(&self, index: usize) -> bool {
        self.frames.contains_key(&index)
    }

    pub fn insert(&mut self, frame: Decoded) {
        let index = frame.frame.index;
        if let Some(old) = self.frames.insert(index, frame.clone()) {
            self.used -= old.byte_size();
            self.order.retain(|&i| i != index);
        }
        self.used += frame.byte_size();
        self.order.push_back(index);
        while self.used > self.budget && self.order.len() > 1 {
            let Some(out) = self.next_out() else { break };
            self.order.retain(|&i| i != out);
            if let Some(evicted) = self.frames.remove(&out) {
                self.used -= evicted.byte_size();
            }
        }
    }

    /// The frame to evict: the farthest from the playhead (of equally far ones, the least
    /// recently used), never the playhead itself nor the frame used last besides it (a
    /// toggle between two frames); without a playhead, the least recently used.
    fn next_out(&self) -> Option<usize> {
        let Some((playhead, heading)) = self.playhead else {
            return self.order.front().copied();
        };
        let distance = |i: usize| {
            let passed = match heading {
                Heading::Forward => i < playhead,
                Heading::Backward => i > playhead,
                Heading::Still => false,
            };
            let distance = i.abs_diff(playhead);
            if passed {
                distance.saturating_mul(PASSED_WEIGHT)
            } else {
                distance
            }
        };
        let last_other = self.order.iter().rev().copied().find(|&i| i != playhead);
        self.order
            .iter()
            .enumerate()
            .filter(|&(_, &i)| i != playhead && Some(i) != last_other)
            .max_by_key(|&(age, &i)| (distance(i), std::cmp::Reverse(age)))
            .map(|(_, &i)| i)
            .or_else(|| self.order.front().copied())
    }

    /// The cached frame nearest to `index`.
    pub fn nearest(&self, index: usize) -> Option<Decoded> {
        self.frames
            .iter()
            .min_by_key(|(i, _)| i.abs_diff(index))
            .map(|(_, f)| f.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelLayout;

    fn frame(index: usize, bytes: usize) -> Decoded {
        Decoded {
            frame: Arc::new(Frame {
                index,
                time_seconds: None,
                width: 1,
                height: 1,
                layout: PixelLayout::Rgb8,
                pixels: vec![0; bytes],
            }),
            samples: None,
            full_size: (1, 1),
            planes: None,
        }
    }

    #[test]
    fn the_budget_holds_so_many_frames_of_the_last_size_and_evicts_the_oldest() {
        let mut cache = FrameCache::new(1000);
        assert_eq!(cache.frames_that_fit(), None, "nothing cached yet");
        for index in 0..5 {
            cache.insert(frame(index, 300));
        }
        assert_eq!(cache.frames_that_fit(), Some(3));
        assert!(!cache.contains(0) && !cache.contains(1), "oldest out first");
        assert!(cache.contains(2) && cache.contains(3) && cache.contains(4));
        // Touching a frame makes it the newest: the next insert evicts another.
        assert!(cache.get(2).is_some());
        cache.insert(frame(5, 300));
        assert!(cache.contains(2) && !cache.contains(3));
    }

    #[test]
    fn with_a_playhead_the_farthest_frame_goes_first_and_frames_ahead_outlive_those_passed() {
        // Playing forward: frames 0..=3 shown (each touched as the playhead reached it),
        // then 4..=6 prefetched ahead of it; room for 5.
        let mut cache = FrameCache::new(1500);
        for index in 0..=3 {
            cache.set_playhead(index, Heading::Forward);
            cache.insert(frame(index, 300));
            assert!(cache.get(index).is_some());
        }
        for index in 4..=6 {
            cache.insert(frame(index, 300));
        }
        // Least recently used would have evicted 4, the next frame due; the frames passed
        // go first, the farthest (0) before 1.
        assert!(!cache.contains(0) && !cache.contains(1));
        assert!((2..=6).all(|i| cache.contains(i)));
        // Frame 2, one behind, counts as farther than 6, three ahead.
        cache.insert(frame(7, 300));
        assert!(!cache.contains(2) && cache.contains(6) && cache.contains(7));
        // A jump back to 0: the playhead is kept, and the frame used last (7) too; of the
        // others the farthest from 0 goes.
        cache.set_playhead(0, Heading::Still);
        cache.insert(frame(0, 300));
        assert!(cache.contains(0) && cache.contains(7));
        assert!(
            !cache.contains(6),
            "the farthest from 0 but the newest goes"
        );
        assert!((3..=5).all(|i| cache.contains(i)));
    }
}
