"""The supervisors' folium map."""
