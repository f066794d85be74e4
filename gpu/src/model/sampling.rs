//! Where a DCNv3 layer sampled, as plain data the page and the CLI can query: the records
//! `[h, w, G, 9, 3]` = (p_x, p_y, m) of one run, in the layer's feature-map coordinates, and the
//! map to image pixels (spec section 4: feature coordinate p sits at image pixel `stride * p`).

use crate::ops::dcnv3::{POINTS, SAMPLING_STRIDE};

#[derive(Clone, Debug, PartialEq)]
pub struct LayerSampling {
    pub level: usize,
    pub block: usize,
    /// Image pixels per feature pixel.
    pub stride: u32,
    pub height: u32,
    pub width: u32,
    pub groups: u32,
    pub records: Vec<f32>,
}

/// One sampling point of one group, in image pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplePoint {
    pub group: u32,
    /// 0..9; point k has the regular offset (k div 3 - 1, k mod 3 - 1) in (x, y).
    pub point: u32,
    pub x: f32,
    pub y: f32,
    /// The softmaxed modulation weight; the 9 of a group sum to 1.
    pub weight: f32,
    /// Where the regular 3x3 convolution would have sampled, in image pixels.
    pub regular_x: f32,
    pub regular_y: f32,
}

impl LayerSampling {
    /// The feature pixel (column, row) whose centre is nearest the image point.
    pub fn pixel_at(&self, image_x: f32, image_y: f32) -> (u32, u32) {
        nearest_pixel(self.stride, self.width, self.height, image_x, image_y)
    }

    /// The 9 points of every group (or of `only_group`) at feature pixel (column, row).
    pub fn points(&self, column: u32, row: u32, only_group: Option<u32>) -> Vec<SamplePoint> {
        let s = self.stride as f32;
        let pixel = (row * self.width + column) as usize;
        (0..self.groups)
            .filter(|g| only_group.is_none_or(|only| only == *g))
            .flat_map(|group| {
                (0..POINTS as u32).map(move |point| {
                    let record = ((pixel * self.groups as usize + group as usize) * POINTS
                        + point as usize)
                        * SAMPLING_STRIDE;
                    let r = &self.records[record..record + SAMPLING_STRIDE];
                    let (bx, by) = ((point / 3) as f32 - 1.0, (point % 3) as f32 - 1.0);
                    SamplePoint {
                        group,
                        point,
                        x: s * r[0],
                        y: s * r[1],
                        weight: r[2],
                        regular_x: s * (column as f32 + bx),
                        regular_y: s * (row as f32 + by),
                    }
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2x3 map, 2 groups, every point shifted by (+0.5, -0.25) with weight 1/9.
    fn layer() -> LayerSampling {
        let (h, w, g) = (2u32, 3u32, 2u32);
        let mut records = Vec::new();
        for row in 0..h {
            for column in 0..w {
                for _ in 0..g {
                    for k in 0..9 {
                        let (bx, by) = ((k / 3) as f32 - 1.0, (k % 3) as f32 - 1.0);
                        records.extend([
                            column as f32 + bx + 0.5,
                            row as f32 + by - 0.25,
                            1.0 / 9.0,
                        ]);
                    }
                }
            }
        }
        LayerSampling {
            level: 1,
            block: 0,
            stride: 8,
            height: h,
            width: w,
            groups: g,
            records,
        }
    }

    #[test]
    fn image_points_map_to_the_nearest_feature_pixel() {
        let l = layer();
        assert_eq!(l.pixel_at(0.0, 0.0), (0, 0));
        assert_eq!(l.pixel_at(12.1, 3.0), (2, 0));
        assert_eq!(l.pixel_at(500.0, 500.0), (2, 1));
    }

    #[test]
    fn maps_summarise_each_pixel() {
        let maps = layer().maps(None);
        assert_eq!(maps.offset_magnitude.len(), 6);
        // Every point moved by (+0.5, -0.25) feature pixels = (4, -2) image pixels.
        assert!(
            maps.offset_magnitude
                .iter()
                .all(|&m| (m - 20f32.sqrt()).abs() < 1e-5)
        );
        assert!(
            maps.concentration
                .iter()
                .all(|&c| (c - 1.0 / 9.0).abs() < 1e-6)
        );
        // A uniform 3x3 grid of spacing 8: variance 2/3 * 64 per axis.
        let expected = (2.0f32 * 2.0 / 3.0 * 64.0).sqrt();
        assert!(
            maps.spread.iter().all(|&s| (s - expected).abs() < 1e-4),
            "{:?}",
            maps.spread
        );
    }

    #[test]
    fn points_are_in_image_pixels_beside_the_regular_grid() {
        let l = layer();
        let all = l.points(1, 1, None);
        assert_eq!(all.len(), 18);
        let p = all[4]; // the centre point of group 0
        assert_eq!((p.regular_x, p.regular_y), (8.0, 8.0));
        assert_eq!((p.x, p.y), (8.0 + 4.0, 8.0 - 2.0));
        let one = l.points(1, 1, Some(1));
        assert_eq!(one.len(), 9);
        assert!(one.iter().all(|p| p.group == 1));
    }
}

/// The pixel (column, row) of a `width` x `height` map of stride `stride` whose centre (image
/// pixel `stride` x column) is nearest the image point.
pub fn nearest_pixel(
    stride: u32,
    width: u32,
    height: u32,
    image_x: f32,
    image_y: f32,
) -> (u32, u32) {
    let nearest =
        |v: f32, len: u32| (v / stride as f32).round().clamp(0.0, (len - 1) as f32) as u32;
    (nearest(image_x, width), nearest(image_y, height))
}

/// Per-pixel summaries of a layer's sampling, for heat maps: `[h, w]`, row-major, each the mean
/// over the chosen groups.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerMaps {
    /// Mean distance of the 9 points from the regular grid, in image pixels.
    pub offset_magnitude: Vec<f32>,
    /// The largest of the 9 modulation weights: 1/9 for uniform, 1 when one point takes all.
    pub concentration: Vec<f32>,
    /// Weighted standard deviation of the 9 locations around their weighted centre, in image
    /// pixels: how wide the layer looks at this pixel.
    pub spread: Vec<f32>,
}

impl LayerSampling {
    pub fn maps(&self, only_group: Option<u32>) -> LayerMaps {
        let pixels = (self.height * self.width) as usize;
        let mut maps = LayerMaps {
            offset_magnitude: vec![0.0; pixels],
            concentration: vec![0.0; pixels],
            spread: vec![0.0; pixels],
        };
        for pixel in 0..pixels {
            let (column, row) = ((pixel as u32) % self.width, (pixel as u32) / self.width);
            let points = self.points(column, row, only_group);
            let groups = (points.len() / POINTS).max(1) as f32;
            for group in points.chunks_exact(POINTS) {
                let shift: f32 = group
                    .iter()
                    .map(|p| (p.x - p.regular_x).hypot(p.y - p.regular_y))
                    .sum();
                maps.offset_magnitude[pixel] += shift / POINTS as f32 / groups;
                maps.concentration[pixel] +=
                    group.iter().map(|p| p.weight).fold(0.0, f32::max) / groups;
                maps.spread[pixel] +=
                    weighted_spread(group.iter().map(|p| (p.x, p.y, p.weight))) / groups;
            }
        }
        maps
    }
}

/// The weighted standard deviation of points' distance to their weighted centre; 0 for no
/// weight. Used for a layer's 9 points and for a whole receptive field.
pub fn weighted_spread(points: impl Iterator<Item = (f32, f32, f32)> + Clone) -> f32 {
    let total: f32 = points.clone().map(|(_, _, w)| w).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let cx = points.clone().map(|(x, _, w)| w * x).sum::<f32>() / total;
    let cy = points.clone().map(|(_, y, w)| w * y).sum::<f32>() / total;
    let var = points
        .map(|(x, y, w)| w * ((x - cx).powi(2) + (y - cy).powi(2)))
        .sum::<f32>()
        / total;
    var.sqrt()
}

/// One image location of a receptive field, with its share of the total weight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldPoint {
    pub x: f32,
    pub y: f32,
    pub weight: f32,
}

/// How a receptive field is followed down the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Through the recorded sampling points, weighted by modulation and bilinear weights.
    Deformable,
    /// Through the regular 3x3 grid with equal weights: an ordinary convolution's field.
    Regular,
}

/// The receptive field of feature pixel (column, row) of layer `top`, followed back through the
/// DCNv3 layers `top, top - 1, ..., 0`: every group and point passes on `m / G` of its pixel's
/// weight to the 4 bilinear corners of its location. Between levels, the stride-2 3x3
/// convolution spreads pixel q evenly over the 3x3 pixels around 2q of the level below (its
/// learned weights are not followed); the identity paths of the residual blocks are not followed
/// either. Paths whose weight falls under `prune` (a fraction of the total) are
/// dropped at each layer, which keeps it interactive. Returns image pixels, weights summing to
/// about 1.
pub fn receptive_field(
    layers: &[LayerSampling],
    top: usize,
    column: u32,
    row: u32,
    field: Field,
    prune: f32,
) -> Vec<FieldPoint> {
    let mut current = WeightMap::new(&layers[top]);
    current.add(column, row, 1.0);
    for index in (0..=top).rev() {
        let layer = &layers[index];
        let mut below = WeightMap::new(layer);
        let share = 1.0 / layer.groups as f32;
        let pixel_records = layer.groups as usize * POINTS * SAMPLING_STRIDE;
        for (c, r, weight) in current.entries() {
            match field {
                Field::Deformable => {
                    let at = (r * layer.width + c) as usize * pixel_records;
                    // Every group's 9 points: (p_x, p_y, m) each.
                    let records = &layer.records[at..at + pixel_records];
                    for record in records.chunks_exact(SAMPLING_STRIDE) {
                        below.add_bilinear(record[0], record[1], weight * share * record[2]);
                    }
                }
                // The G groups' grids coincide, and their shares add up to the whole weight.
                Field::Regular => {
                    for point in 0..POINTS as u32 {
                        let px = c as f32 + (point / 3) as f32 - 1.0;
                        let py = r as f32 + (point % 3) as f32 - 1.0;
                        below.add_bilinear(px, py, weight * (1.0 / 9.0));
                    }
                }
            }
        }
        below.prune(prune);
        if let Some(next) = index.checked_sub(1).map(|i| &layers[i])
            && next.level < layer.level
        {
            let mut spread = WeightMap::new(next);
            for (c, r, w) in below.entries() {
                for (dx, dy) in (0..9).map(|t| (t % 3, t / 3)) {
                    let (x, y) = ((2 * c + dx) as i64 - 1, (2 * r + dy) as i64 - 1);
                    if (0..next.width as i64).contains(&x) && (0..next.height as i64).contains(&y) {
                        spread.add(x as u32, y as u32, w / 9.0);
                    }
                }
            }
            below = spread;
        }
        current = below;
    }
    let stride = layers[0].stride as f32;
    current
        .entries()
        .map(|(c, r, weight)| FieldPoint {
            x: stride * c as f32,
            y: stride * r as f32,
            weight,
        })
        .collect()
}

/// Weights over one layer's map, dense: a field soon covers much of the map, and a hash map of
/// pixels made the deepest fields slow, natively and more so in the page
/// (docs/performance.md#the-build-and-the-pages-thread). A pixel is in the field while its
/// weight is above zero.
struct WeightMap {
    width: u32,
    height: u32,
    weights: Vec<f32>,
}

impl WeightMap {
    fn new(layer: &LayerSampling) -> Self {
        Self {
            width: layer.width,
            height: layer.height,
            weights: vec![0.0; (layer.width * layer.height) as usize],
        }
    }

    fn add(&mut self, column: u32, row: u32, weight: f32) {
        self.weights[(row * self.width + column) as usize] += weight;
    }

    /// Adds `weight` to the 4 corners of (px, py) inside the map, bilinearly.
    fn add_bilinear(&mut self, px: f32, py: f32, weight: f32) {
        // A location that is not a number (from weights that overflowed) lands nowhere.
        if !(px.is_finite() && py.is_finite()) {
            return;
        }
        let (x0, y0) = (px.floor(), py.floor());
        let (fx, fy) = (px - x0, py - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let (width, height) = (i64::from(self.width), i64::from(self.height));
        for (x, wx) in [(x0, 1.0 - fx), (x0 + 1, fx)] {
            for (y, wy) in [(y0, 1.0 - fy), (y0 + 1, fy)] {
                if (0..width).contains(&x) && (0..height).contains(&y) {
                    self.weights[(y * width + x) as usize] += weight * wx * wy;
                }
            }
        }
    }

    /// Drops the pixels whose weight is under `fraction` of the total.
    fn prune(&mut self, fraction: f32) {
        let floor = fraction * self.weights.iter().sum::<f32>();
        for weight in &mut self.weights {
            if *weight < floor {
                *weight = 0.0;
            }
        }
    }

    /// (column, row, weight) of every pixel in the field, row by row.
    fn entries(&self) -> impl Iterator<Item = (u32, u32, f32)> + '_ {
        (0..self.weights.len() as u32)
            .zip(&self.weights)
            .filter(|&(_, &weight)| weight > 0.0)
            .map(|(at, &weight)| (at % self.width, at / self.width, weight))
    }
}

#[cfg(test)]
mod field_tests {
    use super::*;

    fn regular_layer(level: usize, size: u32) -> LayerSampling {
        let mut records = Vec::new();
        for row in 0..size {
            for column in 0..size {
                for k in 0..9 {
                    records.extend([
                        column as f32 + (k / 3) as f32 - 1.0,
                        row as f32 + (k % 3) as f32 - 1.0,
                        1.0 / 9.0,
                    ]);
                }
            }
        }
        LayerSampling {
            level,
            block: 0,
            stride: 4 << level,
            height: size,
            width: size,
            groups: 1,
            records,
        }
    }

    #[test]
    fn two_regular_layers_give_a_5x5_field() {
        let layers = [regular_layer(0, 9), regular_layer(0, 9)];
        let field = receptive_field(&layers, 1, 4, 4, Field::Deformable, 0.0);
        assert_eq!(field.len(), 25);
        let total: f32 = field.iter().map(|p| p.weight).sum();
        assert!((total - 1.0).abs() < 1e-5);
        let centre = field.iter().find(|p| (p.x, p.y) == (16.0, 16.0)).unwrap();
        assert!(
            (centre.weight - 3.0 / 27.0).abs() < 1e-6,
            "centre {}",
            centre.weight
        ); // 3x3 / 81
        // Recorded regular grids and the Regular field agree.
        let mut regular = receptive_field(&layers, 1, 4, 4, Field::Regular, 0.0);
        let mut deformable = field.clone();
        for f in [&mut regular, &mut deformable] {
            f.sort_by(|a, b| (a.x, a.y).partial_cmp(&(b.x, b.y)).unwrap());
        }
        assert_eq!(regular, deformable);
    }

    #[test]
    fn a_level_boundary_spreads_over_the_downsampling_footprint() {
        let layers = [regular_layer(0, 9), regular_layer(1, 4)];
        let field = receptive_field(&layers, 1, 2, 2, Field::Regular, 0.0);
        // Level 1 pixels 1..=3 cover level 0 pixels 2q - 1..=2q + 1 = 1..=7, and the level 0
        // layer widens that by one on each side: 0..=8.
        let xs: std::collections::BTreeSet<u32> = field.iter().map(|p| p.x as u32 / 4).collect();
        assert_eq!(
            xs.into_iter().collect::<Vec<_>>(),
            (0..=8).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_location_that_is_not_a_number_passes_on_nothing() {
        let mut layer = regular_layer(0, 9);
        // Pixel (1, 1)'s centre point; its 9 points land on the 3x3 pixels from (0, 0).
        let centre_point = ((9 + 1) * 9 + 4) * SAMPLING_STRIDE;
        layer.records[centre_point] = f32::NAN;
        let field = receptive_field(&[layer], 0, 1, 1, Field::Deformable, 0.0);
        // The other 8 points keep their pixels, (0, 0) among them, and their weights.
        assert_eq!(field.len(), 8);
        assert!(field.iter().all(|p| p.weight.is_finite()));
        let total: f32 = field.iter().map(|p| p.weight).sum();
        assert!((total - 8.0 / 9.0).abs() < 1e-6, "{total}");
    }

    #[test]
    fn pruning_drops_the_faint_paths() {
        let layers = [regular_layer(0, 9), regular_layer(0, 9)];
        // The 5x5 field's weights are outer products of [1, 2, 3, 2, 1] / 9: keeping those of at
        // least 4.5 % leaves the inner 3x3.
        let pruned = receptive_field(&layers, 1, 4, 4, Field::Regular, 0.045);
        assert_eq!(pruned.len(), 9);
    }
}
