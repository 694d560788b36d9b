"""Helpers of the registered_apps tests that more than one module uses: bulk applications for the admin
changelist, and the admin's channel change form."""

from registered_apps.models import Platform, RegisteredApplication, Scope


def bulk_applications(programmer, channels, count: int) -> None:
    """Many applications of every shape, inserted directly: the subject here is the changelist."""
    ios, web = Platform.objects.get(code="ios"), Platform.objects.get(code="web")
    scope = Scope.objects.get(code="api:client:v2")
    start = RegisteredApplication.objects.count()
    apps = []
    for i in range(start, start + count):
        shape = i % 3
        apps.append(
            RegisteredApplication(
                programmer=programmer,
                name=f"Bulk {i}",
                level="channel" if shape == 2 else "programmer",
                channel=channels[i % len(channels)] if shape == 2 else None,
                all_channels=shape == 0,
            )
        )
    RegisteredApplication.objects.bulk_create(apps)
    through_channels = RegisteredApplication.channels.through
    through_platforms = RegisteredApplication.platforms.through
    through_scopes = RegisteredApplication.scopes.through
    through_channels.objects.bulk_create(
        through_channels(registeredapplication_id=app.pk, channel_id=channel.pk)
        for i, app in enumerate(apps, start)
        if i % 3 == 1
        for channel in channels[:2]
    )
    through_platforms.objects.bulk_create(
        through_platforms(registeredapplication_id=app.pk, platform_id=platform.pk)
        for app in apps
        for platform in (ios, web)
    )
    through_scopes.objects.bulk_create(
        through_scopes(registeredapplication_id=app.pk, scope_id=scope.pk) for app in apps
    )


def inline_management(prefix: str, total: int = 0, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def channel_change_data(channel, **extra):
    domains = list(channel.domains.all())
    schemes = list(channel.custom_schemes.all())
    data = {
        "name": channel.name,
        **inline_management("domains", total=len(domains), initial=len(domains)),
        **inline_management("custom_schemes", total=len(schemes), initial=len(schemes)),
    }
    for i, domain in enumerate(domains):
        data[f"domains-{i}-id"] = str(domain.pk)
        data[f"domains-{i}-channel"] = str(channel.pk)
        data[f"domains-{i}-host"] = domain.host
    for i, scheme in enumerate(schemes):
        data[f"custom_schemes-{i}-id"] = str(scheme.pk)
        data[f"custom_schemes-{i}-channel"] = str(channel.pk)
    data.update(extra)
    return data
