//! Building libavfilter graphs in process: named buffer sources, named sinks and a filter
//! spec between them, as `-filter_complex` reads it. Used by the HDR tone map, by compare
//! (two sources into `psnr`/`ssim`) and by the transcode pipeline.

use ffmpeg::filter;
use ffmpeg_next as ffmpeg;

/// Why a graph could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("this FFmpeg has no {0} filter")]
    MissingFilter(String),
    #[error("filter graph '{spec}': {reason}")]
    Build { spec: String, reason: ffmpeg::Error },
}

/// One end of a graph: the filter (`buffer`, `abuffer`, `buffersink`, `abuffersink`), the
/// label the spec uses for it, and the source's arguments (empty for sinks).
pub struct Pad<'a> {
    pub filter: &'a str,
    pub label: &'a str,
    pub args: String,
}

/// Builds `sources -> spec -> sinks`. The spec names the pads by label (`[a][b]psnr[out]`);
/// with one source and one sink it may leave them unnamed.
pub fn build(sources: &[Pad], sinks: &[Pad], spec: &str) -> Result<filter::Graph, GraphError> {
    let failed = |reason| GraphError::Build {
        spec: spec.to_string(),
        reason,
    };
    let mut graph = filter::Graph::new();
    for pad in sources.iter().chain(sinks) {
        let found =
            filter::find(pad.filter).ok_or_else(|| GraphError::MissingFilter(pad.filter.into()))?;
        graph.add(&found, pad.label, &pad.args).map_err(failed)?;
    }
    let mut parser = filter::graph::Parser::new(&mut graph);
    for pad in sources {
        parser = parser.output(pad.label, 0).map_err(failed)?;
    }
    for pad in sinks {
        parser = parser.input(pad.label, 0).map_err(failed)?;
    }
    parser.parse(spec).map_err(failed)?;
    graph.validate().map_err(failed)?;
    Ok(graph)
}

/// A video graph `buffer("in", args) -> spec -> buffersink("out")`.
pub fn single_chain(args: &str, spec: &str) -> Result<filter::Graph, GraphError> {
    build(
        &[Pad {
            filter: "buffer",
            label: "in",
            args: args.to_string(),
        }],
        &[Pad {
            filter: "buffersink",
            label: "out",
            args: String::new(),
        }],
        spec,
    )
}
