"""Who sees and who may manage which applications, channels and programmers (selectors)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from registered_apps import selectors
from registered_apps.models import Access
from tests.factories import ChannelFactory, ProgrammerFactory, UserFactory, make_application, member


@pytest.fixture
def apps(programmer, channels):
    """One application of each shape: all channels, a subset, and channel level on two channels."""
    one, two, three = channels
    return {
        "all": make_application(programmer, name="All"),
        "subset_one_two": make_application(programmer, name="Subset", all_channels=False, channels=[one, two]),
        "only_one": make_application(programmer, name="Only one", all_channels=False, channels=[one]),
        "channel_one": make_application(programmer, name="Ch one", level="channel", all_channels=False, channel=one),
        "channel_three": make_application(
            programmer, name="Ch three", level="channel", all_channels=False, channel=three
        ),
    }


def visible_names(user):
    return set(selectors.applications_visible_to(user).values_list("name", flat=True))


def test_programmer_wide_read_write_member_sees_and_manages_every_application(rw_user, apps):
    assert visible_names(rw_user) == {"All", "Subset", "Only one", "Ch one", "Ch three"}
    assert all(selectors.can_manage(rw_user, app) for app in apps.values())


def test_read_only_member_sees_everything_but_manages_and_creates_nothing(ro_user, apps, programmer, channels):
    assert visible_names(ro_user) == {"All", "Subset", "Only one", "Ch one", "Ch three"}
    assert not any(selectors.can_manage(ro_user, app) for app in apps.values())
    assert not selectors.can_create(ro_user, programmer, channel_ids=[channels[0].pk])
    assert not selectors.can_create(ro_user, programmer, all_channels=True)


def test_channel_member_sees_only_applications_covering_their_channel(channel_user, apps):
    assert visible_names(channel_user) == {"All", "Subset", "Only one", "Ch one"}


def test_channel_member_manages_only_what_lies_wholly_inside_their_channels(channel_user, apps):
    assert selectors.can_manage(channel_user, apps["only_one"])
    assert selectors.can_manage(channel_user, apps["channel_one"])
    # Visible, but reaching beyond their channel:
    assert not selectors.can_manage(channel_user, apps["subset_one_two"])
    assert not selectors.can_manage(channel_user, apps["all"])
    # Not visible at all:
    assert not selectors.can_manage(channel_user, apps["channel_three"])


def test_channel_member_may_create_only_on_their_channels(channel_user, programmer, channels):
    assert selectors.can_create(channel_user, programmer, channel_ids=[channels[0].pk])
    assert not selectors.can_create(channel_user, programmer, channel_ids=[channels[0].pk, channels[1].pk])
    assert not selectors.can_create(channel_user, programmer, all_channels=True)


def test_read_only_channel_member_sees_their_channel_but_manages_nothing(programmer, channels, apps):
    user = UserFactory(username="ro-channel")
    member(user, programmer, Access.READ_ONLY, channels=[channels[2]])
    assert visible_names(user) == {"All", "Ch three"}
    assert not selectors.can_manage(user, apps["channel_three"])


def test_member_of_another_programmer_sees_and_manages_nothing_here(other_user, apps, programmer):
    assert visible_names(other_user) == set()
    assert not any(selectors.can_manage(other_user, app) for app in apps.values())
    assert selectors.reach_of(other_user, programmer) is None
    assert not selectors.can_create(other_user, programmer, all_channels=True)


def test_anonymous_user_sees_nothing(apps, programmer):
    anonymous = AnonymousUser()
    assert visible_names(anonymous) == set()
    assert not selectors.programmers_visible_to(anonymous).exists()
    assert not selectors.channels_visible_to(anonymous).exists()
    assert not selectors.can_manage(anonymous, apps["all"])
    assert not selectors.applications_visible_to(anonymous).filter(pk=apps["all"].pk).exists()


def test_inactive_member_sees_nothing(rw_user, apps):
    rw_user.is_active = False
    rw_user.save()
    assert visible_names(rw_user) == set()
    assert not selectors.can_manage(rw_user, apps["all"])


def test_superuser_sees_and_manages_everything_without_a_membership(tam, apps, other_user):
    other_app = make_application(other_user.memberships.get().programmer, name="Elsewhere")
    assert visible_names(tam) == {"All", "Subset", "Only one", "Ch one", "Ch three", "Elsewhere"}
    assert selectors.can_manage(tam, other_app)


def test_channels_and_programmers_visible_follow_the_membership(
    channel_user, rw_user, other_user, programmer, channels
):
    assert set(selectors.channels_visible_to(channel_user)) == {channels[0]}
    assert set(selectors.channels_visible_to(rw_user)) == set(channels)
    assert set(selectors.programmers_visible_to(channel_user)) == {programmer}
    assert programmer not in selectors.programmers_visible_to(other_user)


def test_all_channels_application_covers_a_channel_added_later(programmer, channels, apps):
    late = ChannelFactory(programmer=programmer, slug="demo-late")
    user = UserFactory(username="late-member")
    member(user, programmer, Access.READ_WRITE, channels=[late])
    assert late.pk in selectors.application_channel_ids(apps["all"])
    assert late.pk not in selectors.application_channel_ids(apps["subset_one_two"])
    assert visible_names(user) == {"All"}


def test_membership_of_two_programmers_sees_both_but_nothing_else(programmer, channels, apps, other_user):
    third = ProgrammerFactory(slug="third")
    make_application(third, name="Third app")
    other_programmer = other_user.memberships.get().programmer
    make_application(other_programmer, name="Other app")
    user = UserFactory(username="two-hats")
    member(user, programmer, Access.READ_ONLY, channels=[channels[1]])
    member(user, other_programmer, Access.READ_WRITE)
    assert visible_names(user) == {"All", "Subset", "Other app"}
