"""HTTP only: routes, views, authentication, serializers, errors and the OpenAPI description, over
the app root (accounts, codes, audit...). Nothing below it imports it."""
