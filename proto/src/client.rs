//! One handle on every directory service over one channel: the directory has one gRPC
//! service per aggregate, and a caller usually needs several of them.

use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::MAX_MESSAGE_BYTES;
use crate::v1::{
    attributes_client::AttributesClient, events_client::EventsClient, groups_client::GroupsClient,
    licenses_client::LicensesClient, roles_client::RolesClient, tokens_client::TokensClient,
    users_client::UsersClient, workspaces_client::WorkspacesClient,
};

/// The clients of the directory's services, sharing one channel and one interceptor (the
/// caller's credential). Each accessor hands out a clone: clients are cheap handles on the
/// channel, and tonic's calls take `&mut self`.
#[derive(Debug, Clone)]
pub struct DirectoryClient<I> {
    workspaces: WorkspacesClient<InterceptedService<Channel, I>>,
    users: UsersClient<InterceptedService<Channel, I>>,
    groups: GroupsClient<InterceptedService<Channel, I>>,
    attributes: AttributesClient<InterceptedService<Channel, I>>,
    licenses: LicensesClient<InterceptedService<Channel, I>>,
    roles: RolesClient<InterceptedService<Channel, I>>,
    tokens: TokensClient<InterceptedService<Channel, I>>,
    events: EventsClient<InterceptedService<Channel, I>>,
}

/// Builds one service's client with the contract's message limit on both directions.
macro_rules! limited {
    ($client:ident, $channel:expr, $interceptor:expr) => {
        $client::with_interceptor($channel.clone(), $interceptor.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    };
}

impl<I: Interceptor + Clone> DirectoryClient<I> {
    pub fn with_interceptor(channel: Channel, interceptor: I) -> Self {
        Self {
            workspaces: limited!(WorkspacesClient, channel, interceptor),
            users: limited!(UsersClient, channel, interceptor),
            groups: limited!(GroupsClient, channel, interceptor),
            attributes: limited!(AttributesClient, channel, interceptor),
            licenses: limited!(LicensesClient, channel, interceptor),
            roles: limited!(RolesClient, channel, interceptor),
            tokens: limited!(TokensClient, channel, interceptor),
            events: limited!(EventsClient, channel, interceptor),
        }
    }

    pub fn workspaces(&self) -> WorkspacesClient<InterceptedService<Channel, I>> {
        self.workspaces.clone()
    }
    pub fn users(&self) -> UsersClient<InterceptedService<Channel, I>> {
        self.users.clone()
    }
    pub fn groups(&self) -> GroupsClient<InterceptedService<Channel, I>> {
        self.groups.clone()
    }
    pub fn attributes(&self) -> AttributesClient<InterceptedService<Channel, I>> {
        self.attributes.clone()
    }
    pub fn licenses(&self) -> LicensesClient<InterceptedService<Channel, I>> {
        self.licenses.clone()
    }
    pub fn roles(&self) -> RolesClient<InterceptedService<Channel, I>> {
        self.roles.clone()
    }
    pub fn tokens(&self) -> TokensClient<InterceptedService<Channel, I>> {
        self.tokens.clone()
    }
    pub fn events(&self) -> EventsClient<InterceptedService<Channel, I>> {
        self.events.clone()
    }
}
