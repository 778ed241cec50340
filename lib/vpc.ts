/** Lambda placement in the configured VPC, imported by ID: no context lookup, so synth needs no credentials. */
import { Fn, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { WatchdogConfig } from '../lambdas/domain/config/types';
import type { VpcPlacement } from './functions';

export type VpcConfig = NonNullable<NonNullable<WatchdogConfig['aws']>['vpc']>;

/** Subnets are given explicitly: the VPC's own AZ and subnet lists are never read. */
export function vpcPlacement(scope: Construct, vpc: VpcConfig): VpcPlacement {
  const importedVpc = ec2.Vpc.fromVpcAttributes(scope, 'Vpc', {
    vpcId: vpc.vpcId,
    availabilityZones: Fn.getAzs(),
  });
  Validations.of(importedVpc).acknowledge({
    id: 'Annotation::@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
    reason: "The functions' subnets are given by ID; nothing reads the VPC's AZ or subnet lists.",
  });
  const subnets = vpc.subnetIds.map((subnetId) => {
    const subnet = ec2.Subnet.fromSubnetId(scope, `Subnet-${subnetId}`, subnetId);
    Validations.of(subnet).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
      reason: 'Lambda placement needs the subnet ID only; its route table is never read.',
    });
    return subnet;
  });
  const securityGroups =
    vpc.securityGroupIds.length > 0
      ? vpc.securityGroupIds.map((sg) =>
          ec2.SecurityGroup.fromSecurityGroupId(scope, `SecurityGroup-${sg}`, sg),
        )
      : [
          new ec2.SecurityGroup(scope, 'FunctionsSecurityGroup', {
            vpc: importedVpc,
            description: 'rs-cert-watchdog functions: outbound only (cluster APIs, AWS APIs)',
            allowAllOutbound: true,
          }),
        ];
  return { vpc: importedVpc, vpcSubnets: { subnets }, securityGroups };
}
