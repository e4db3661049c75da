mod events;
mod responses;
