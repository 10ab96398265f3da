//! Online calibration of new (pretest) items from exam journals.
