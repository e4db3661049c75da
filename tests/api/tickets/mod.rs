mod compensation_limits;
mod events;
mod lifecycle;
