//! The register tile of `linear_tiled.wgsl`, and its source spelled out for one tile.

use crate::context::AdapterSummary;

/// Rows and blocks of 4 columns that one invocation of the tiled kernel computes, the
/// invocations of a workgroup with tiles of their own (columns, rows), which cover
/// [`Tile::block`] outputs, and how many invocations share each tile's K steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tile {
    pub rows: u32,
    pub blocks: u32,
    pub workgroup: [u32; 2],
    pub split: u32,
    /// For `linear_subgroup.wgsl`: the subgroup's width, a workgroup being one subgroup whose
    /// lanes share their loads of x. 1 for `linear_tiled.wgsl`.
    pub lanes: u32,
}

impl Tile {
    /// A tile of `linear_tiled.wgsl`: `rows` x `blocks` blocks of 4 columns an invocation, in
    /// workgroups of `workgroup` such invocations, each tile's K steps shared by `split`.
    pub const fn tiled(rows: u32, blocks: u32, workgroup: [u32; 2], split: u32) -> Self {
        Self {
            rows,
            blocks,
            workgroup,
            split,
            lanes: 1,
        }
    }

    /// A tile of `linear_subgroup.wgsl`: a workgroup of one subgroup of `lanes`, each lane
    /// with `rows` x `blocks` blocks of 4 columns.
    pub const fn on_subgroup(lanes: u32, rows: u32, blocks: u32) -> Self {
        Self {
            rows,
            blocks,
            workgroup: [lanes, 1],
            split: 1,
            lanes,
        }
    }

    /// 8 x 8 outputs, 16 vec4 accumulators, for llvmpipe and SwiftShader's small models.
    pub const SMALL: Self = Self::tiled(8, 2, [8, 8], 1);
    /// 16 x 16 outputs, for big models on a SwiftShader without subgroups (a browser that
    /// withholds them; otherwise [`Tile::SUBGROUP_4`] runs): there every load is a loop over the
    /// lanes and the accumulators spill whatever the tile, so fewer loads per multiply-add win;
    /// 16 x 32 was faster still but far slower to compile. Not on llvmpipe, where the small tile
    /// beats 16 x 32 (docs/performance.md#the-linear-kernels).
    pub const LARGE: Self = Self::tiled(16, 4, [4, 4], 1);
    /// 2 x 8 outputs, each tile's K steps shared by 16 invocations: a workgroup of 256 covers
    /// 4 rows x 64 columns. For GPUs, which want many threads and short chains of dependent
    /// loads rather than few loads per multiply-add: on the H200 the split made InternImage-T's
    /// pass several times faster than 2 x 8 unsplit or the small tile
    /// (docs/performance.md#on-the-h200).
    pub const GPU: Self = Self::tiled(2, 2, [8, 2], 16);

    /// llvmpipe's subgroup tile: 8 lanes, each 32 rows x 8 columns (fewer rows ran slower, more
    /// no faster: docs/performance.md#the-linear-kernels), fewer where M is short
    /// ([`Tile::fitted_to`]).
    pub const SUBGROUP_8: Self = Self::on_subgroup(8, 32, 2);
    /// SwiftShader's: 4 lanes, each 8 rows x 8 columns. In Chromium it ran InternImage-T's pass
    /// faster than the large tile and every other subgroup tile tried, and its build took half
    /// as long (docs/performance.md#the-linear-kernels).
    pub const SUBGROUP_4: Self = Self::on_subgroup(4, 8, 2);

    /// The subgroup tile for the adapter, where there is one: on CPU adapters, whose subgroups
    /// are SIMD registers, of 8 lanes (llvmpipe) or 4 (SwiftShader).
    pub fn subgroup(adapter: &AdapterSummary) -> Option<Self> {
        let lanes = adapter.subgroup_size.filter(|_| adapter.runs_on_cpu())?;
        [Self::SUBGROUP_8, Self::SUBGROUP_4]
            .into_iter()
            .find(|tile| tile.lanes == lanes)
    }

    /// Parameters from which a model takes the large tile on SwiftShader. Its pipelines take
    /// longer to compile, which InternImage-T (30 M parameters) pays back in its first two
    /// passes and the 2 M-parameter demo model, whose passes are short, hardly ever
    /// (docs/performance.md#the-linear-kernels).
    pub const LARGE_MIN_PARAMETERS: usize = 10_000_000;

    /// The tile for a model of `parameters` on the adapter: on a GPU, [`Tile::GPU`]; on the
    /// CPU, the large one on a browser's fallback adapter (SwiftShader) for big models, the
    /// small one elsewhere.
    pub fn for_model(adapter: &AdapterSummary, parameters: usize) -> Self {
        if !adapter.runs_on_cpu() {
            Self::GPU
        } else if adapter.is_browser_fallback() && parameters >= Self::LARGE_MIN_PARAMETERS {
            Self::LARGE
        } else {
            Self::SMALL
        }
    }

    /// For a subgroup tile, the fewest rows that cover `m` in as many workgroups as the tile's
    /// own rows would, in fours and at least 8: rows past M cost their multiply-adds like any
    /// other (every lane stays active for the broadcasts), and at InternImage-T's 14 x 14 and
    /// 7 x 7 levels 32 rows a workgroup padded M by 12 % and 23 % (28 rows: 0 and 12 %). Fewer
    /// rows keep each step's loads and cut only its arithmetic. In fours and at least 8 so that
    /// few shapes make a pipeline of their own: llvmpipe takes a fifth of a second or more to
    /// compile one, and SwiftShader's 8-row tile is left as it is
    /// (docs/performance.md#the-linear-kernels). Tiled tiles are kept as they are.
    pub fn fitted_to(self, m: u32) -> Self {
        if self.lanes == 1 || m == 0 {
            return self;
        }
        let workgroups = m.div_ceil(self.rows);
        let rows = m.div_ceil(workgroups).next_multiple_of(4).max(8);
        Self {
            rows: rows.min(self.rows),
            ..self
        }
    }

    /// Output columns per invocation.
    pub fn columns(self) -> u32 {
        4 * self.blocks
    }

    /// Output columns and rows per workgroup.
    pub fn block(self) -> [u32; 2] {
        let [x, y] = self.workgroup;
        [x * self.columns(), y * self.rows]
    }

    /// What the linear bench calls it: outputs per invocation and per workgroup, and the
    /// split of K.
    pub fn name(self) -> String {
        let [cols, rows] = self.block();
        let name = format!("{}x{}/{rows}x{cols}", self.rows, self.columns());
        let name = match self.lanes {
            1 => name,
            lanes => format!("{name}/sg{lanes}"),
        };
        match self.split {
            1 => name,
            split => format!("{name}/k{split}"),
        }
    }

    /// `linear_tiled.wgsl` or `linear_subgroup.wgsl` for this tile: each line marked
    /// `$EACH_BLOCK`, `$EACH_PAIR` (of blocks), `$EACH_ROW`, `$EACH_ROW_PAIR`, `$EACH_ACC` or
    /// `$EACH_LOAD` (of x, one per `$LANES` rows: `$g`) spelled out once per block `$b`
    /// (`$c` = `$b` + 1), row `$r`, or both (`$a`: the accumulator's index, `$r` x blocks +
    /// `$b`). Lines marked `$AND_EACH_BLOCK` after an `$EACH_ROW` line are spelled out per
    /// block within each row; in them `$g` is row `$r`'s load and `$l` the lane that made it.
    /// An `$EACH_LOAD` line just before an `$EACH_ROW` line goes before the first row of each
    /// load. Lines marked `$SPLIT` are kept only where invocations split K, those marked
    /// `$NO_SPLIT` only where they do not.
    pub fn source(self, template: &str) -> String {
        let [x, y] = self.workgroup;
        let accumulators = self.rows * self.blocks;
        let partials = self.split.saturating_sub(1) * x * y * accumulators;
        assert!(
            self.blocks.is_multiple_of(2)
                && x * y * self.split <= 256
                && partials * 16 <= 16_384
                && self.split >= 1,
            "{self:?}: blocks come in pairs, and WebGPU allows 256 invocations and 16 KiB of \
             workgroup memory a workgroup"
        );
        let split = self.split > 1;
        let template: String = template
            .lines()
            .filter_map(|line| {
                let (indent, rest) = split_indent(line);
                match (
                    rest.strip_prefix("$SPLIT "),
                    rest.strip_prefix("$NO_SPLIT "),
                ) {
                    (Some(kept), _) => split.then(|| format!("{indent}{kept}")),
                    (_, Some(kept)) => (!split).then(|| format!("{indent}{kept}")),
                    _ => Some(line.to_owned()),
                }
            })
            .map(|line| line + "\n")
            .collect();
        let template = template
            .replace("$ROWS", &self.rows.to_string())
            .replace("$BLOCKS", &self.blocks.to_string())
            .replace("$SPLIT", &self.split.to_string())
            .replace("$LANES", &self.lanes.to_string())
            .replace("$TILES", &(x * y).to_string())
            .replace("$PARTIALS", &partials.max(1).to_string())
            .replace("$LIVE", if split { " * live" } else { "" })
            .replace("$WORKGROUP", &format!("{x}, {y}, {}", self.split))
            .replace("$ACCUMULATORS", &accumulators.to_string());
        let lines: Vec<(&str, &str)> = template.lines().map(split_indent).collect();
        let (blocks, pairs) = (0..self.blocks, (0..self.blocks).step_by(2));
        let (blocks_per_row, lanes) = (self.blocks, self.lanes);
        let fill = |indent: &str, statement: &str, r: u32, b: u32| {
            let filled = statement
                .replace("$a", &(r * blocks_per_row + b).to_string())
                .replace("$g", &(r / lanes).to_string())
                .replace("$l", &(r % lanes).to_string())
                .replace("$b", &b.to_string())
                .replace("$c", &(b + 1).to_string())
                .replace("$r", &r.to_string());
            format!("{indent}{filled}")
        };
        let mut out = Vec::new();
        let mut load_before_its_rows = None;
        let mut at = 0;
        while let Some(&(indent, line)) = lines.get(at) {
            at += 1;
            if let Some(statement) = line.strip_prefix("$EACH_ROW ") {
                let nested: Vec<(&str, &str)> = lines[at..]
                    .iter()
                    .map_while(|&(indent, line)| {
                        Some((indent, line.strip_prefix("$AND_EACH_BLOCK ")?))
                    })
                    .collect();
                at += nested.len();
                let load = load_before_its_rows.take();
                for r in 0..self.rows {
                    if let Some((indent, load)) = load.filter(|_| r % lanes == 0) {
                        out.push(fill(indent, load, r, 0));
                    }
                    out.push(fill(indent, statement, r, 0));
                    for b in blocks.clone() {
                        for &(indent, statement) in &nested {
                            out.push(fill(indent, statement, r, b));
                        }
                    }
                }
            } else if let Some(statement) = line.strip_prefix("$EACH_LOAD ") {
                if lines
                    .get(at)
                    .is_some_and(|(_, next)| next.starts_with("$EACH_ROW "))
                {
                    // Each load just before the rows that broadcast it.
                    load_before_its_rows = Some((indent, statement));
                } else {
                    for g in 0..self.rows.div_ceil(lanes) {
                        out.push(fill(indent, statement, g * lanes, 0));
                    }
                }
            } else if let Some(statement) = line.strip_prefix("$EACH_ACC ") {
                for r in 0..self.rows {
                    out.extend(blocks.clone().map(|b| fill(indent, statement, r, b)));
                }
            } else if let Some(statement) = line.strip_prefix("$EACH_ROW_PAIR ") {
                for r in 0..self.rows {
                    for b in pairs.clone() {
                        out.push(fill(indent, statement, r, b));
                    }
                }
            } else if let Some(statement) = line.strip_prefix("$EACH_PAIR ") {
                out.extend(pairs.clone().map(|b| fill(indent, statement, 0, b)));
            } else if let Some(statement) = line.strip_prefix("$EACH_BLOCK ") {
                out.extend(blocks.clone().map(|b| fill(indent, statement, 0, b)));
            } else {
                out.push(format!("{indent}{line}"));
            }
        }
        out.join("\n") + "\n"
    }
}

/// A line's leading whitespace and the rest.
fn split_indent(line: &str) -> (&str, &str) {
    let rest = line.trim_start();
    (&line[..line.len() - rest.len()], rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_of(source: &str, text: &str) -> u32 {
        source.matches(text).count() as u32
    }

    #[test]
    fn every_marked_line_is_spelled_out_row_by_row() {
        let template = include_str!("linear_tiled.wgsl");
        for tile in [Tile::SMALL, Tile::LARGE, Tile::GPU] {
            let source = tile.source(template);
            assert!(!source.contains('$'), "{tile:?}: a marker is left");
            let split = tile.split > 1;
            assert_eq!(source.contains("workgroupBarrier"), split, "{tile:?}");
            // Each tile's sums, then (NORMALIZE) its rows' sums: written once, read twice.
            assert_eq!(
                count_of(&source, "partials[slot + "),
                (2 * tile.rows * tile.blocks + 3 * tile.rows) * u32::from(split)
            );
            let count = |text: &str| count_of(&source, text);
            assert_eq!(count("] += w"), tile.rows * tile.blocks);
            assert_eq!(count("store_row(row0"), tile.rows * tile.blocks / 2);
            assert_eq!(count("= weights(q, col"), tile.blocks);
            // Each row's x is loaded just before the multiply-adds that use it.
            let last = tile.rows - 1;
            let load = source.find(&format!("let v{last} = ")).unwrap();
            let first_use = source.find(&format!("* v{last};")).unwrap();
            let previous_row = source.find(&format!("* v{};", last - 1)).unwrap();
            assert!(previous_row < load && load < first_use);
        }
    }

    #[test]
    fn a_subgroup_tile_fits_its_rows_to_m_in_as_many_workgroups() {
        let rows = |m| Tile::SUBGROUP_8.fitted_to(m).rows;
        assert_eq!([3136, 784, 196, 49, 1].map(rows), [32, 32, 28, 28, 8]);
        assert_eq!(Tile::SUBGROUP_4.fitted_to(49), Tile::SUBGROUP_4);
        for m in 1..300 {
            let fitted = Tile::SUBGROUP_8.fitted_to(m);
            assert!(
                (8..=32).contains(&fitted.rows) && fitted.rows.is_multiple_of(4),
                "m {m}"
            );
            assert_eq!(m.div_ceil(fitted.rows), m.div_ceil(32), "m {m}");
        }
        assert_eq!(Tile::SMALL.fitted_to(49), Tile::SMALL);
    }

    #[test]
    fn each_lane_loads_its_rows_just_before_they_are_broadcast() {
        let template = include_str!("linear_subgroup.wgsl");
        let fitted = [49, 20].map(|m| Tile::SUBGROUP_8.fitted_to(m));
        for tile in [Tile::SUBGROUP_8, Tile::SUBGROUP_4]
            .into_iter()
            .chain(fitted)
        {
            let source = tile.source(template);
            assert!(!source.contains('$'), "{tile:?}: a marker is left");
            let count = |text: &str| count_of(&source, text);
            let loads = tile.rows.div_ceil(tile.lanes);
            assert_eq!(count("deviation(input[x"), loads);
            assert_eq!(count("subgroupBroadcast(loaded"), tile.rows);
            assert_eq!(count("] += w"), tile.rows * tile.blocks);
            assert_eq!(count("store_row(row0"), tile.rows * tile.blocks / 2);
            assert!(source.contains(&format!("@workgroup_size({})", tile.lanes)));
            for g in 1..loads {
                let load = source.find(&format!("let loaded{g} = ")).unwrap();
                let last_row_before = (g * tile.lanes - 1).to_string();
                let previous_use = source.find(&format!("* v{last_row_before};")).unwrap();
                let broadcast = source
                    .find(&format!("subgroupBroadcast(loaded{g}, 0u)"))
                    .unwrap();
                assert!(
                    previous_use < load && load < broadcast,
                    "{tile:?}, load {g}"
                );
            }
        }
    }
}
