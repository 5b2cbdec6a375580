"""Bodies outside the programme (issue 24): property managers, utilities, departments and hotlines that own some
hazards, with the areas and categories they take, their channel and their deadlines."""
