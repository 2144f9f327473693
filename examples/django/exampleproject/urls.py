"""URLs of the example project."""

from django.urls import path

from exampleproject import views

urlpatterns = [
    path("pets", views.pets),
    path("pets.csv", views.export),
]
