import factory

from promptconfig.workspaces.models import Organization, Workspace


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"Organization {n}")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    organization = factory.SubFactory(OrganizationFactory)
    slug = factory.Sequence(lambda n: f"ws-{n}")
    name = factory.Sequence(lambda n: f"Workspace {n}")
    default_language = "en"
