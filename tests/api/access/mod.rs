mod matrix;
mod old_access;
mod old_matrix;
