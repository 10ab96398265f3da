//! The linear map between two latent scales and its action on items.

use crate::bank::{ItemParams, ParamSet, Scale};
use crate::error::{Error, Result};
use crate::model::{Graded, Irf, Logistic};

/// `theta_old = a theta_new + b`: the map from NEW's scale to OLD's.
///
/// An item with response function `P(theta_new)` has, on OLD's scale,
/// slope `a_item / a` and difficulty (each threshold) `a b_item + b`; the
/// asymptotes do not change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    /// Slope `A` of the map (positive).
    pub a: f64,
    /// Intercept `B` of the map.
    pub b: f64,
}

impl Transform {
    /// The identity map.
    pub const IDENTITY: Transform = Transform { a: 1.0, b: 0.0 };

    /// An ability on NEW's scale expressed on OLD's.
    pub fn theta(&self, theta_new: f64) -> f64 {
        self.a * theta_new + self.b
    }

    /// The response function on OLD's scale: `a* = a / A`, `b* = A b + B`.
    ///
    /// # Errors
    /// `A` not positive and finite, or `B` not finite.
    pub fn irf(&self, irf: &Irf) -> Result<Irf> {
        self.check()?;
        Ok(match irf {
            Irf::Logistic(l) => {
                Logistic::new(l.a() / self.a, self.theta(l.b()), l.g(), l.u())?.into()
            }
            Irf::Graded(g) => Graded::new(
                g.a() / self.a,
                g.thresholds().iter().map(|b| self.theta(*b)).collect(),
            )?
            .into(),
        })
    }

    /// An item on OLD's scale, with its standard errors mapped
    /// (`se(a) / A`, `A se(b)`, asymptotes' unchanged).
    ///
    /// # Errors
    /// As [`Transform::irf`], naming the item.
    pub fn item(&self, item: &ItemParams) -> Result<ItemParams> {
        let irf = self
            .irf(&item.irf)
            .map_err(|e| e.for_item(item.id.as_str()))?;
        let logistic = matches!(item.irf, Irf::Logistic(_));
        let se = item.se.as_ref().map(|se| {
            se.iter()
                .enumerate()
                .map(|(i, v)| match i {
                    0 => v / self.a,
                    2 | 3 if logistic => *v,
                    _ => v * self.a,
                })
                .collect()
        });
        Ok(ItemParams {
            id: item.id.clone(),
            kind: item.kind,
            irf,
            se,
        })
    }

    /// Every item of `set` on OLD's scale; the metadata is kept, with the
    /// scale mapped (`mean* = A mean + B`, `sd* = A sd`).
    ///
    /// # Errors
    /// As [`Transform::item`].
    pub fn apply_set(&self, set: &ParamSet) -> Result<ParamSet> {
        let items = set
            .items()
            .iter()
            .map(|it| self.item(it))
            .collect::<Result<Vec<_>>>()?;
        let mut metadata = set.metadata().clone();
        metadata.scale = Scale {
            mean: self.theta(metadata.scale.mean),
            sd: self.a * metadata.scale.sd,
        };
        ParamSet::new(items, metadata)
    }

    fn check(&self) -> Result<()> {
        if self.a.is_finite() && self.a > 0.0 && self.b.is_finite() {
            Ok(())
        } else {
            Err(Error::value(format!(
                "linking transformation must have A > 0 and finite B, got A = {}, B = {}",
                self.a, self.b
            )))
        }
    }
}
