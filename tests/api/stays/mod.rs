mod pushes;
